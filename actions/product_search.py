"""Which catalogue products a request is about, by meaning and by word.

"earbuds", "trainers for jogging", "hedphones": the request and every product (its name,
category and description) are sentence embeddings from the encoder the NLU already runs;
the relevance of a product is their cosine similarity plus a bonus for the product words
they share (:mod:`actions.product_words`, misspellings included). A request whose best
product stays below ``floor`` names something the shop does not sell. A request without
product words ("recommend something") is not a search at all.

The floor and the weights are chosen on tests/actions/data/product_requests.csv
(``python benchmarks/product_search.py`` prints what they reach).
"""

from __future__ import annotations

import copy
import logging
import operator
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from actions.product_words import close_to, words

logger = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]

FLOOR = 0.36  # below it nothing in the catalogue fits the request
WORD_BONUS = 0.3  # x the share of the request's product words a product has
MARGIN = 0.1  # products this close to the best one are equally relevant
CATALOGUES_KEPT = 8  # the whole catalogue and the categories searched lately
CLOSE_WORDS_KEPT = 4096  # request words whose close catalogue words a catalogue keeps
CHUNK = 32  # product texts embedded at a time (what the server's NLU batcher sends at most)
# Request words that name no product: without any other word, a request is a plain
# "recommend me something" and gets the recommender's picks.
_NOT_PRODUCT = {"gift", "present", "idea", "ideas", "popular", "seller", "sellers", "buy",
                "have", "got", "sell", "today", "what", "there", "anything", "thing",
                "things", "stuff", "item", "items", "product", "products", "like", "would",
                "could", "should", "your", "shop", "store", "cheap", "this", "that", "give",
                "get", "find", "help", "hello", "thanks", "thank", "hey", "recommendation",
                "recommendations", "suggestion", "suggestions", "interesting", "cool"}


class ProductLike(Protocol):
    sku: str
    name: str
    category: str
    description: str


def product_text(product: ProductLike) -> str:
    """What a product's embedding is made of."""
    return f"{product.name} ({product.category}). {product.description}"


_FILLER = re.compile(
    r"\b(?:can|could|would|will)\s+you\b|\b(?:do|does)\s+(?:you|the shop)\s+"
    r"(?:sell|have|carry|stock)\b|\b(?:please|recommend|suggest|show me|i need|i want|"
    r"i'?m looking for|looking for|some|any|a good|good|nice|something|me)\b|[?!.]",
    re.IGNORECASE,
)


def query_text(text: str) -> str:
    """The request without the words every request has ("can you recommend", "I need")."""
    cleaned = " ".join(_FILLER.sub(" ", text).split())
    return cleaned or text


def asks_for_a_product(text: str) -> bool:
    """Whether the request has words that could name a product (not a button's /payload)."""
    if not text or text.lstrip().startswith("/"):
        return False
    return bool(words(text) - {w.rstrip("s") for w in _NOT_PRODUCT} - _NOT_PRODUCT)


class _Catalogue:
    """One catalogue as searched: its products' texts, words and embeddings, and which
    products have each word (so a request's words are looked up, not compared with every
    product's)."""

    def __init__(self, products: tuple, texts: tuple[str, ...], name_words: list[set[str]],
                 matrix: np.ndarray | None) -> None:
        self.products = products
        self.texts = texts
        self.matrix = matrix
        self.index: dict[str, list[int]] = {}
        for i, product_words in enumerate(name_words):
            for word in product_words:
                self.index.setdefault(word, []).append(i)
        self._close: dict[str, frozenset[int]] = {}

    def holds(self, products: Sequence[ProductLike]) -> bool:
        return (len(products) == len(self.products)
                and all(map(operator.is_, products, self.products)))

    def with_products(self, products: Sequence[ProductLike]) -> _Catalogue:
        """The same catalogue read again (new objects, the same texts)."""
        same = copy.copy(self)  # shares the words, embeddings and close words
        same.products = tuple(products)
        return same

    def products_with(self, word: str) -> frozenset[int]:
        """The products whose words include ``word`` or it with one small misspelling."""
        having = self._close.get(word)
        if having is None:
            having = frozenset(i for w in close_to(word, self.index) for i in self.index[w])
            if len(self._close) >= CLOSE_WORDS_KEPT:
                self._close.clear()
            self._close[word] = having
        return having


@dataclass(frozen=True)
class Match:
    index: int  # in the products searched
    relevance: float


class ProductSearch:
    """Searches a catalogue; product embeddings are computed once per product text."""

    def __init__(self, embed: Embed | None, floor: float = FLOOR,
                 word_bonus: float = WORD_BONUS, margin: float = MARGIN) -> None:
        """``embed``: texts -> unit vectors; None searches by words only."""
        self.embed = embed
        self.floor = floor
        self.word_bonus = word_bonus
        self.margin = margin
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        # per catalogue (its products' texts): the product words and the embedding matrix,
        # so a request costs one embedding and one matrix product, not a pass per product
        # (a few: a search within one category searches a catalogue of its own)
        self._catalogues: list[_Catalogue] = []

    def prepare(self, products: Sequence[ProductLike]) -> None:
        """Compute the catalogue's words and embeddings now (what the first search would)."""
        self._prepared(products)

    def _prepared(self, products: Sequence[ProductLike]) -> _Catalogue:
        kept = self._catalogues
        # the shop keeps its catalogue: the same product objects, search after search
        found = next((c for c in kept if c.holds(products)), None)
        replaced = found
        if found is None:
            texts = tuple(product_text(p) for p in products)
            replaced = next((c for c in kept if c.texts == texts), None)
            if replaced is not None:  # read again: new objects, the same products
                found = replaced.with_products(products)
            else:
                name_words = [words(f"{p.name} {p.category}") for p in products]
                matrix = self._product_vectors(list(texts)) if self.embed is not None else None
                found = _Catalogue(tuple(products), texts, name_words, matrix)
        self._catalogues = [found, *(c for c in kept if c is not replaced)][:CATALOGUES_KEPT]
        return found

    def _product_vectors(self, texts: list[str]) -> np.ndarray:
        assert self.embed is not None
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            # In chunks the size of live traffic: a bigger batch would make the encoder
            # open a second (two-thread) ONNX Runtime session, some 100 MB more.
            for start in range(0, len(missing), CHUNK):
                chunk = missing[start : start + CHUNK]
                for t, v in zip(chunk, self.embed(chunk), strict=True):
                    self._vectors[t] = v
            return np.stack([self._vectors[t] for t in texts])

    def relevance(self, text: str, products: Sequence[ProductLike]) -> np.ndarray:
        """Each product's relevance to the request."""
        asked = words(text)
        catalogue = self._prepared(products)
        matrix = catalogue.matrix
        # per asked word: the products that have it (or it misspelt) among their words
        overlap = np.zeros(len(catalogue.texts), dtype=np.float32)
        for word in asked:
            having = catalogue.products_with(word)
            if having:
                overlap[list(having)] += 1
        share = overlap / max(len(asked), 1)
        if matrix is None:
            # word match only: any shared product word is a fit
            return share * (self.floor + self.word_bonus) / max(share.max(initial=0), 1e-9)
        query = self.embed([query_text(text)])[0]
        return matrix @ query + self.word_bonus * share

    def search(self, text: str, products: Sequence[ProductLike]) -> list[Match] | None:
        """The products the request is about, most relevant first; [] when nothing in the
        catalogue fits; None when the request names no product (recommend as usual)."""
        if not asks_for_a_product(text) or not products:
            return None
        scores = self.relevance(text, products)
        best = float(scores.max())
        if best < self.floor:
            logger.info("no product fits %r (best relevance %.2f < %.2f)", text, best,
                        self.floor)
            return []
        keep = np.flatnonzero(scores >= best - self.margin)
        keep = keep[np.argsort(-scores[keep], kind="stable")]
        return [Match(int(i), float(scores[i])) for i in keep]
