"""The learned entity tagger: a linear-chain CRF (crfsuite) over word tokens, trained on
the entity annotations of the NLU data. It is what DIETClassifier's entity recognition and
CRFEntityExtractor map onto; roles and groups are learned as part of each token's label.

Token features are lexical (the word, its affixes and shape, its neighbours) plus, with
RegexFeaturizer, whether the token is inside a match of one of the project's regexes or
lookup tables, as Rasa's RegexFeaturizer marks tokens.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from nlp.training_data import Example
from nlp.types import Entity

_TOKEN = re.compile(r"\w+|[^\w\s]")
_LABEL_SEP = "|"
OUTSIDE = "O"


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Words and single punctuation marks, with their character offsets."""
    return [Token(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


_UPPER, _LOWER, _DIGIT = re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"\d")
_REPEAT = re.compile(r"(.)\1{2,}")


@functools.lru_cache(maxsize=65536)
def _shape(word: str) -> str:
    """``Xxxx``, ``Xdddd``: the word's shape (cached: customers' words repeat)."""
    shape = _UPPER.sub("X", word)
    shape = _LOWER.sub("x", shape)
    shape = _DIGIT.sub("d", shape)
    return _REPEAT.sub(r"\1\1", shape)


class EntityTagger:
    """``fit(examples)`` / ``extract(text)``; ``patterns`` are (name, compiled regex) pairs
    whose matches become token features."""

    def __init__(
        self,
        patterns: list[tuple[str, re.Pattern]] | None = None,
        extractor: str = "DIETClassifier",
        c1: float = 0.05,
        c2: float = 0.01,
        max_iterations: int = 100,
    ) -> None:
        self.patterns = patterns or []
        self.extractor = extractor
        self.params = {"c1": c1, "c2": c2, "max_iterations": int(max_iterations)}
        self._tagger = None

    def _features(self, text: str, tokens: list[Token]) -> list[dict[str, float]]:
        marks = [set() for _ in tokens]
        for name, pattern in self.patterns:
            for m in pattern.finditer(text):
                for i, t in enumerate(tokens):
                    if t.start < m.end() and m.start() < t.end:
                        marks[i].add(name)
        words = [t.text for t in tokens]
        out = []
        for i, word in enumerate(words):
            low = word.lower()
            f = {
                "bias": 1.0,
                "w=" + low: 1.0,
                "suf3=" + low[-3:]: 1.0,
                "suf2=" + low[-2:]: 1.0,
                "pre3=" + low[:3]: 1.0,
                "shape=" + _shape(word): 1.0,
                "title": float(word.istitle()),
                "upper": float(word.isupper()),
                "digit": float(word.isdigit()),
            }
            for name in marks[i]:
                f["re=" + name] = 1.0
            for offset in (-2, -1, 1, 2):
                j = i + offset
                if 0 <= j < len(words):
                    f[f"{offset}:w={words[j].lower()}"] = 1.0
                    f[f"{offset}:title"] = float(words[j].istitle())
                    for name in marks[j]:
                        f[f"{offset}:re={name}"] = 1.0
                else:
                    f[f"{offset}:edge"] = 1.0
            out.append(f)
        return out

    def fit(self, examples: list[Example], model_path: str | Path) -> EntityTagger:
        """Train on ``examples`` and write the CRF model to ``model_path``."""
        import pycrfsuite

        trainer = pycrfsuite.Trainer(verbose=False)
        for example in examples:
            tokens = tokenize(example.text)
            if tokens:
                trainer.append(self._features(example.text, tokens), _labels(example, tokens))
        trainer.set_params(self.params)
        trainer.train(str(model_path))
        return self.open(model_path)

    def open(self, model_path: str | Path) -> EntityTagger:
        import pycrfsuite

        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(model_path))
        return self

    def extract(self, text: str) -> list[Entity]:
        tokens = tokenize(text)
        if not tokens or self._tagger is None:
            return []
        labels = self._tagger.tag(self._features(text, tokens))
        entities: list[Entity] = []
        current: list[int] = []

        def close() -> None:
            if current:
                label = labels[current[0]][2:]
                confidence = min(self._tagger.marginal(labels[i], i) for i in current)
                entity, role, group = _split(label)
                start, end = tokens[current[0]].start, tokens[current[-1]].end
                entities.append(
                    Entity(
                        entity,
                        text[start:end],
                        start,
                        end,
                        round(float(confidence), 4),
                        self.extractor,
                        role,
                        group,
                    )
                )
                current.clear()

        for i, label in enumerate(labels):
            if label.startswith("I-") and current and labels[current[0]][2:] == label[2:]:
                current.append(i)
                continue
            close()
            if label != OUTSIDE:
                current.append(i)
        close()
        return entities


def _labels(example: Example, tokens: list[Token]) -> list[str]:
    labels = [OUTSIDE] * len(tokens)
    for span in example.entities:
        inside = [i for i, t in enumerate(tokens) if t.start < span.end and span.start < t.end]
        name = _LABEL_SEP.join([span.entity, span.role or "", span.group or ""])
        for n, i in enumerate(inside):
            if labels[i] == OUTSIDE:  # the first annotation of a token wins
                labels[i] = ("B-" if n == 0 else "I-") + name
    return labels


def _split(label: str) -> tuple[str, str | None, str | None]:
    entity, role, group = (label.split(_LABEL_SEP) + ["", ""])[:3]
    return entity, role or None, group or None
