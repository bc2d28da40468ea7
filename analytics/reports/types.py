"""The shape every report has: named, typed columns and rows of plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from analytics.reports.scope import ReportError, ReportFilters
from analytics.store.records import naive_utc_now

# How a column's values are meant to be read: they are stored plain (rates as fractions,
# durations in seconds) and formatted by whoever displays them.
KINDS = ("text", "int", "float", "rate", "seconds", "date", "datetime", "bool")
PERIODS = ("day", "week")
MEASURES = ("auto", "csat", "sentiment")  # fix-first: what lost satisfaction is measured in
MAX_LIMIT = 1000


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """Per-report knobs that are not filters."""

    period: str = "day"  # sentiment-over-time: day | week
    limit: int = 50  # rows of the list reports (voices, conversations)
    min_conversations: int = 5  # worst-intents: ignore intents rarer than this
    measure: str = "auto"  # fix-first: one of MEASURES
    now: datetime | None = None  # the moment "in progress" is judged at; default: now
    models_dir: Path | None = None  # fitted analytics models; None: none (model reports empty)

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ReportError(f"Unknown period {self.period!r}; use day or week.")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ReportError(f"'limit' must be between 1 and {MAX_LIMIT}.")
        if self.measure not in MEASURES:
            raise ReportError(f"Unknown measure {self.measure!r}; use one of: "
                              f"{', '.join(MEASURES)}.")
        if self.min_conversations < 1:
            raise ReportError("'min_conversations' must be at least 1.")

    @property
    def at(self) -> datetime:
        return self.now or naive_utc_now()


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "text"  # one of KINDS


@dataclass
class Report:
    """One report's result."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    filters: ReportFilters = field(default_factory=ReportFilters)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings."""
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"name": c.name, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": [{k: jsonable(v) for k, v in row.items()} for row in self.rows],
            "filters": self.filters.to_query(),
            "notes": self.notes,
            "meta": {k: jsonable(v) for k, v in self.meta.items()},
        }


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def format_value(value: Any, kind: str) -> str:
    """A value as a person reads it in a table or a CSV cell."""
    if value is None:
        return ""
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind == "float":
        text = f"{value:.3f}"
        return text[1:] if text == "-0.000" else text  # a tiny negative is not "-0"
    if kind == "seconds":
        return _duration(value)
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
