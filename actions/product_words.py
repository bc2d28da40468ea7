"""Which catalogue products a customer's words name ("good headphones" -> the headphones).

A word match on product names, so a request for a product type gets that type rather than
the shop's best sellers. Paraphrases ("earbuds", "trainers") are the sentence embeddings' job
(:mod:`actions.product_search`); :func:`close_to` forgives a misspelt word ("hedphones").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")
# Words in requests and names that say nothing about the kind of product.
_GENERIC = {"a", "an", "the", "and", "or", "for", "of", "with", "some", "any", "good", "best",
            "new", "nice", "great", "me", "my", "i", "you", "can", "recommend", "something",
            "need", "want", "looking", "show", "suggest", "please", "set", "pack", "kit"}


def _stem(word: str) -> str:
    # Plurals only: "headphones" and "headphone", "shoes" and "shoe" are the same product word.
    if len(word) > 3 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _GENERIC and len(w) > 2}


def matching(text: str, names: Sequence[str]) -> list[int]:
    """Indexes of the names sharing most product words with text, best first (stable); []
    when none shares any."""
    asked = words(text)
    if not asked:
        return []
    scored = [(len(asked & words(name)), i) for i, name in enumerate(names)]
    best = max((s for s, _ in scored), default=0)
    return [i for s, i in scored if s == best] if best else []


@lru_cache(maxsize=1 << 16)
def _close(a: str, b: str) -> bool:
    # One slip in a word of five letters or more ("hedphone", "runing", "perfum"). The ratio
    # is 2 x matches / (len a + len b), at most 2 x min / sum: lengths alone rule most pairs
    # out, and the answers are kept (a catalogue's words against the few words people use).
    if a == b:
        return True
    shorter, total = min(len(a), len(b)), len(a) + len(b)
    if shorter < 5 or 2 * shorter < 0.8 * total:
        return False
    matcher = SequenceMatcher(None, a, b)
    return matcher.quick_ratio() >= 0.8 and matcher.ratio() >= 0.8


def close_to(word: str, vocabulary: Iterable[str]) -> set[str]:
    """The words of ``vocabulary`` that are ``word``, or it with one small misspelling."""
    return {w for w in vocabulary if _close(word, w)}
