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

import logging
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
        self._catalogue: tuple[tuple[str, ...], list[set[str]], np.ndarray | None] | None = None

    def prepare(self, products: Sequence[ProductLike]) -> None:
        """Compute the catalogue's words and embeddings now (what the first search would)."""
        self._prepared(products)

    def _prepared(self, products: Sequence[ProductLike]
                  ) -> tuple[list[set[str]], np.ndarray | None]:
        texts = tuple(product_text(p) for p in products)
        cached = self._catalogue
        if cached is not None and cached[0] == texts:
            return cached[1], cached[2]
        name_words = [words(f"{p.name} {p.category}") for p in products]
        matrix = self._product_vectors(list(texts)) if self.embed is not None else None
        self._catalogue = (texts, name_words, matrix)
        return name_words, matrix

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
        name_words, matrix = self._prepared(products)
        # each asked word against the catalogue's words once, then set operations per product
        vocabulary = set().union(*name_words)
        close = [close_to(a, vocabulary) for a in asked]
        overlap = np.array([sum(not c.isdisjoint(n) for c in close) for n in name_words],
                           dtype=np.float32)
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
