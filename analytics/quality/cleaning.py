"""Declared cleaning rules for a model's training data: deduplicate, impute or drop missing
values, clip outliers or impossible values. ``clean(frame, rules)`` applies them in order and
says what each one changed, for the model's card ("what was cleaned and how much")."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Deduplicate:
    """Keep the first row of each ``key`` (after normalising text: case and spaces)."""

    key: tuple[str, ...]

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        keys = frame[list(self.key)].apply(
            lambda col: col.astype(str).str.strip().str.lower().str.split().str.join(" ")
            if col.dtype == object or pd.api.types.is_string_dtype(col) else col)
        duplicated = keys.duplicated(keep="first")
        return frame.loc[~duplicated], int(duplicated.sum())


@dataclass(frozen=True)
class Impute:
    """Fill missing values of ``column`` with its median, mean, or a constant."""

    column: str
    strategy: str = "median"  # median | mean | constant
    value: float = 0.0

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        values = pd.to_numeric(frame[self.column], errors="coerce")
        missing = values.isna()
        if not missing.any():
            return frame, 0
        if self.strategy == "median":
            fill = values.median()
        elif self.strategy == "mean":
            fill = values.mean()
        else:
            fill = self.value
        frame = frame.copy()
        frame[self.column] = values.fillna(self.value if pd.isna(fill) else fill)
        return frame, int(missing.sum())


@dataclass(frozen=True)
class DropMissing:
    """Drop rows where any of ``columns`` is missing."""

    columns: tuple[str, ...]

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        missing = frame[list(self.columns)].isna().any(axis=1)
        return frame.loc[~missing], int(missing.sum())


@dataclass(frozen=True)
class Clip:
    """Clip ``column`` into [lower, upper]: fixed bounds (impossible values) and/or
    quantiles of the column (outliers)."""

    column: str
    lower: float | None = None
    upper: float | None = None
    lower_quantile: float | None = None
    upper_quantile: float | None = None

    def apply(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        values = pd.to_numeric(frame[self.column], errors="coerce").astype(float)
        low = self.lower
        high = self.upper
        if self.lower_quantile is not None and values.notna().any():
            q = float(values.quantile(self.lower_quantile))
            low = q if low is None else max(low, q)
        if self.upper_quantile is not None and values.notna().any():
            q = float(values.quantile(self.upper_quantile))
            high = q if high is None else min(high, q)
        clipped = values.clip(lower=low, upper=high)
        changed = int(((clipped != values) & values.notna()).sum())
        if changed:
            frame = frame.copy()
            frame[self.column] = clipped
        return frame, changed


Rule = Deduplicate | Impute | DropMissing | Clip


@dataclass
class CleaningLog:
    """What each rule changed: the model card's ``cleaning`` entry."""

    rows_in: int = 0
    rows_out: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "steps": self.steps}

    def describe(self) -> str:
        changed = [f"{s['rule']} {s.get('column') or ','.join(s.get('key') or s.get('columns') or [])}"
                   f": {s['rows']}" for s in self.steps if s["rows"]]
        return (f"{self.rows_in} rows in, {self.rows_out} out"
                + (f"; {'; '.join(changed)}" if changed else "; nothing to clean"))


def clean(frame: pd.DataFrame, rules: tuple[Rule, ...]) -> tuple[pd.DataFrame, CleaningLog]:
    """Apply ``rules`` in order; the log says how many rows each one touched."""
    log = CleaningLog(rows_in=len(frame))
    for rule in rules:
        frame, touched = rule.apply(frame)
        step = {"rule": type(rule).__name__.lower(), **{k: list(v) if isinstance(v, tuple)
                                                        else v for k, v in asdict(rule).items()
                                                        if v is not None}, "rows": touched}
        log.steps.append(step)
    log.rows_out = len(frame)
    return frame.reset_index(drop=True), log
