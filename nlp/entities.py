"""Entity extraction: regexes (built-in and from nlu.yml), lookup tables, synonyms and
spaCy's named entities. Earlier sources win where spans overlap: regex, lookup, spaCy."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from nlp.patterns import EMAIL, ORDER_ID
from nlp.training_data import TrainingData
from nlp.types import Entity

REGEX_EXTRACTOR = "RegexEntityExtractor"
SPACY_EXTRACTOR = "SpacyEntityExtractor"

# Built-in patterns every shop needs; nlu.yml regexes add to them.
_CURRENCY = r"(?:\$|€|£|usd|eur|gbp)"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_CURRENCY_WORDS = r"(?:dollars?|bucks|usd|euros?|eur|pounds?|gbp)"
BUILTIN_REGEXES: dict[str, list[str]] = {
    "order_id": [ORDER_ID],
    "email": [EMAIL],
    "amount": [
        rf"(?<![\w.]){_CURRENCY}\s?(?:{_NUMBER})\b",
        rf"\b(?:{_NUMBER})\s?(?:{_CURRENCY_WORDS}\b|[$€£])",
    ],
}
# spaCy labels worth passing on; CARDINAL/ORDINAL/PRODUCT mostly mislabel order numbers.
_DIGITS_ONLY = re.compile(r"[\d\s]+")
# PERSON is left out: names are personal data the bot never needs as a slot.
SPACY_LABELS = frozenset({"GPE", "LOC", "ORG", "DATE", "TIME", "NORP", "FAC"})


@dataclass
class EntityExtractor:
    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    spacy_labels: frozenset[str] = SPACY_LABELS

    def __post_init__(self) -> None:
        merged = {k: list(v) for k, v in BUILTIN_REGEXES.items()}
        for name, patterns in self.regexes.items():
            merged.setdefault(name, [])
            merged[name] += [p for p in patterns if p not in merged[name]]
        # Rasa's RegexEntityExtractor is case-insensitive by default.
        self._regexes = [
            (name, re.compile(p, re.IGNORECASE)) for name, ps in merged.items() for p in ps
        ]
        self._lookups = []
        for name, values in self.lookups.items():
            # Synonym variants of a lookup value are worth finding too ("sneakers" -> shoes).
            known = {v.lower() for v in values}
            terms = known | {s for s, canon in self.synonyms.items() if canon.lower() in known}
            if terms:
                alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
                self._lookups.append((name, re.compile(rf"\b(?:{alternation})\b", re.IGNORECASE)))

    @classmethod
    def from_training_data(cls, data: TrainingData) -> EntityExtractor:
        """Config from nlu.yml; annotations like ``[sneakers](product_category:shoes)``
        become synonyms, as Rasa's EntitySynonymMapper learns them."""
        synonyms = dict(data.synonyms)
        lookups = {k: list(v) for k, v in data.lookups.items()}
        for example in data.examples:
            for span in example.entities:
                surface = example.text[span.start : span.end]
                if span.value != surface:
                    synonyms.setdefault(surface.lower(), span.value)
                if span.entity in lookups and span.entity not in data.regexes:
                    if surface.lower() not in {v.lower() for v in lookups[span.entity]}:
                        lookups[span.entity].append(surface)
        return cls(regexes=dict(data.regexes), lookups=lookups, synonyms=synonyms)

    def extract(self, text: str, doc=None) -> list[Entity]:
        """Entities in ``text``; pass the spaCy ``doc`` of the same text to add its NER."""
        found: list[Entity] = []
        for name, pattern in self._regexes:
            for m in pattern.finditer(text):
                found.append(
                    Entity(
                        name,
                        self._normalise(name, m.group(0)),
                        m.start(),
                        m.end(),
                        1.0,
                        REGEX_EXTRACTOR,
                    )
                )
        for name, pattern in self._lookups:
            for m in pattern.finditer(text):
                value = self.synonyms.get(m.group(0).lower(), m.group(0).lower())
                found.append(Entity(name, value, m.start(), m.end(), 1.0, REGEX_EXTRACTOR))
        if doc is not None:
            for ent in doc.ents:
                label = "amount" if ent.label_ == "MONEY" else ent.label_
                if _DIGITS_ONLY.fullmatch(ent.text) and label != "amount":
                    continue  # phone and card numbers that the small model calls DATE
                if label == "amount" or label in self.spacy_labels:
                    value = self._normalise(label, ent.text)
                    found.append(
                        Entity(label, value, ent.start_char, ent.end_char, 1.0, SPACY_EXTRACTOR)
                    )
        return _without_overlaps(found)

    def _normalise(self, entity: str, value: str) -> str:
        if entity == "order_id":
            return value.upper()
        if entity == "email":
            return value.lower()
        if entity == "amount":
            number = re.search(r"\d[\d,]*(?:\.\d+)?", value)
            return number.group(0).replace(",", "") if number else value
        return self.synonyms.get(value.lower(), value)

    def save(self, path: str | Path) -> None:
        config = {"regexes": self.regexes, "lookups": self.lookups, "synonyms": self.synonyms}
        Path(path).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> EntityExtractor:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**config)


def _without_overlaps(entities: list[Entity]) -> list[Entity]:
    """Keep the first-found entity of overlapping spans (regex beats lookup beats spaCy),
    preferring the longer one from the same source; return them in text order."""
    kept: list[Entity] = []
    for e in entities:
        clash = next((k for k in kept if e.start < k.end and k.start < e.end), None)
        if clash is None:
            kept.append(e)
        elif (
            clash.extractor == e.extractor
            and clash.entity == e.entity
            and (e.end - e.start > clash.end - clash.start)
        ):
            kept[kept.index(clash)] = e
    return sorted(kept, key=lambda e: (e.start, e.end))
