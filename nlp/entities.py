"""Entities from the project's regexes and lookup tables (Rasa's RegexEntityExtractor), and
synonym mapping (Rasa's EntitySynonymMapper)."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from nlp.training_data import TrainingData
from nlp.types import Entity

REGEX_EXTRACTOR = "RegexEntityExtractor"


@dataclass
class EntityExtractor:
    """Regexes and lookup tables named after an annotated entity find that entity (as Rasa's
    RegexEntityExtractor does; the other patterns only feed the tagger)."""

    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    case_sensitive: bool = False
    use_regexes: bool = True
    use_lookup_tables: bool = True
    use_word_boundaries: bool = True
    entities: list[str] | None = None  # annotated entity names; None: every pattern extracts

    def __post_init__(self) -> None:
        flags = 0 if self.case_sensitive else re.IGNORECASE
        self._patterns: list[tuple[str, re.Pattern]] = []
        for name, patterns in self.regexes.items():
            self._patterns += [(name, re.compile(p, flags)) for p in patterns]
        for name, values in self.lookups.items():
            # Synonym variants of a lookup value are worth finding too ("sneakers" -> shoes).
            known = {v.lower() for v in values}
            terms = known | {s for s, canon in self.synonyms.items() if canon.lower() in known}
            if terms:
                alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
                bounded = rf"\b(?:{alternation})\b" if self.use_word_boundaries else alternation
                self._patterns.append((name, re.compile(bounded, re.IGNORECASE)))

    @classmethod
    def from_training_data(cls, data: TrainingData, **options) -> EntityExtractor:
        """Patterns from the NLU data; annotations like ``[sneakers](product_category:shoes)``
        become synonyms (as Rasa's EntitySynonymMapper learns them), and annotated words of a
        lookup entity join its table."""
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
        return cls(
            regexes=dict(data.regexes),
            lookups=lookups,
            synonyms=synonyms,
            entities=data.entity_names,
            **options,
        )

    @property
    def patterns(self) -> list[tuple[str, re.Pattern]]:
        """Every (name, pattern): regex features for the tagger."""
        return list(self._patterns)

    def extract(self, text: str) -> list[Entity]:
        found: list[Entity] = []
        regex_names = set(self.regexes) if self.use_regexes else set()
        lookup_names = set(self.lookups) if self.use_lookup_tables else set()
        for name, pattern in self._patterns:
            if self.entities is not None and name not in self.entities:
                continue
            if name not in regex_names and name not in lookup_names:
                continue
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    found.append(Entity(name, m.group(0), m.start(), m.end(), 1.0, REGEX_EXTRACTOR))
        return _without_overlaps(found)

    def map_synonyms(self, entities: list[Entity]) -> list[Entity]:
        """Replace text values by their canonical synonym (EntitySynonymMapper)."""
        out = []
        for e in entities:
            canonical = self.synonyms.get(e.value.lower()) if isinstance(e.value, str) else None
            out.append(dataclasses.replace(e, value=canonical) if canonical else e)
        return out

    def save(self, path: str | Path) -> None:
        config = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        Path(path).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> EntityExtractor:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**config)


def _without_overlaps(entities: list[Entity]) -> list[Entity]:
    """Of overlapping matches of one entity keep the longer; return them in text order."""
    kept: list[Entity] = []
    for e in sorted(entities, key=lambda e: (-(e.end - e.start), e.start)):
        if not any(k.entity == e.entity and e.start < k.end and k.start < e.end for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: (e.start, e.end))
