"""Redaction recall on a labelled set: of the personal data written in messages, how much
redaction hides, per category (tests/nlp/data/pii_labelled.jsonl; benchmarks/pii_recall.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nlp.types import PIISpan


@dataclass
class CategoryRecall:
    caught: int = 0
    total: int = 0
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.total if self.total else 1.0


def read_labelled(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def hidden(text: str, value: str, spans: list[PIISpan]) -> bool:
    """Whether every letter and digit of ``value`` (where it is in ``text``) is in a span."""
    start = text.find(value)
    if start < 0:
        raise ValueError(f"labelled value {value!r} is not in {text!r}")
    covered = {i for s in spans for i in range(s.start, s.end)}
    return all(i in covered for i in range(start, start + len(value)) if text[i].isalnum())


def redaction_recall(rows: Iterable[dict], find: Callable[[str], list[PIISpan]]
                     ) -> dict[str, CategoryRecall]:
    """Per category (and "ALL"): labelled values hidden by ``find``'s spans, of all labelled."""
    result: dict[str, CategoryRecall] = {}
    for row in rows:
        spans = find(row["text"])
        for item in row["pii"]:
            for key in (item["kind"], "ALL"):
                category = result.setdefault(key, CategoryRecall())
                category.total += 1
                if hidden(row["text"], item["value"], spans):
                    category.caught += 1
                elif key != "ALL":
                    category.missed.append(row["text"])
    return result


def false_positive_rate(texts: Iterable[str], find: Callable[[str], list[PIISpan]]) -> float:
    """Share of messages without personal data in which something was redacted anyway."""
    texts = list(texts)
    return sum(bool(find(t)) for t in texts) / len(texts) if texts else 0.0
