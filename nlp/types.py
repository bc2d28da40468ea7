"""Dataclasses that cross the nlp/ border. Their ``to_dict`` gives Rasa's JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FALLBACK_INTENT = "nlu_fallback"
SENTIMENT_LABELS = ("negative", "neutral", "positive")
# Names sentiment data sets and models give the three labels.
SENTIMENT_NAME_ALIASES = {
    "negative": "negative", "neg": "negative",
    "neutral": "neutral", "neu": "neutral",
    "positive": "positive", "pos": "positive",
}  # fmt: skip
# Numeric labels of data files (SST-style 0/1, and -1 for negative); never model outputs,
# whose LABEL_0.. order is read by position instead.
SENTIMENT_NUMBER_ALIASES = {"-1": "negative", "0": "negative", "1": "positive"}


def sentiment_label(label: object, numeric: bool = True) -> str | None:
    """negative/neutral/positive for a label as data files write it; None if unknown."""
    text = str(label).strip().lower()
    if numeric and text in SENTIMENT_NUMBER_ALIASES:
        return SENTIMENT_NUMBER_ALIASES[text]
    return SENTIMENT_NAME_ALIASES.get(text)


@dataclass(frozen=True)
class Entity:
    entity: str
    value: Any  # text; Duckling dimensions give numbers, dicts (time intervals)...
    start: int
    end: int
    confidence: float | None = 1.0
    extractor: str = "RegexEntityExtractor"
    role: str | None = None
    group: str | None = None
    additional_info: dict | None = None  # Duckling's own value object, as Rasa passes it

    def to_dict(self) -> dict:
        """Rasa's entity shape: ``role``, ``group`` and ``additional_info`` only when set."""
        out = {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "extractor": self.extractor,
        }
        for key in ("role", "group", "additional_info"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class IntentScore:
    name: str
    confidence: float

    def to_dict(self) -> dict:
        return {"name": self.name, "confidence": round(float(self.confidence), 4)}


@dataclass(frozen=True)
class Sentiment:
    label: str  # one of SENTIMENT_LABELS
    score: float  # signed polarity in [-1, 1]: p(positive) - p(negative)
    scores: dict[str, float] = field(default_factory=dict)  # label -> probability

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "score": round(float(self.score), 4),
            "scores": {k: round(float(v), 4) for k, v in self.scores.items()},
        }


@dataclass(frozen=True)
class PIISpan:
    kind: str  # EMAIL, PHONE, CARD, ADDRESS, PERSON
    start: int
    end: int


@dataclass(frozen=True)
class ParseResult:
    text: str
    intent: IntentScore
    intent_ranking: list[IntentScore]
    entities: list[Entity]
    sentiment: Sentiment
    redacted_text: str
    pii: list[PIISpan] = field(default_factory=list)
    # Rasa's ResponseSelector output ({"all_retrieval_intents": [...], "default": {...}});
    # None when the pipeline has no ResponseSelector.
    response_selector: dict | None = None
    # The top two intents when they are within FallbackClassifier's ambiguity_threshold of
    # each other (the intent is then nlu_fallback, as in Rasa): for the dialogue to ask
    # which one the customer meant. None when the top intent is clear.
    ambiguous_intents: tuple[str, str] | None = None

    def to_dict(self) -> dict:
        """Rasa's /model/parse response, plus Carebot's sentiment."""
        out = {
            "text": self.text,
            "intent": self.intent.to_dict(),
            "intent_ranking": [i.to_dict() for i in self.intent_ranking],
            "entities": [e.to_dict() for e in self.entities],
            "sentiment": self.sentiment.to_dict(),
        }
        if self.response_selector is not None:
            out["response_selector"] = self.response_selector
        if self.ambiguous_intents is not None:
            out["ambiguous_intents"] = list(self.ambiguous_intents)
        return out
