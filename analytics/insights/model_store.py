"""Fitted analytics models on disk: ``<models dir>/analytics/<name>.joblib`` plus a JSON card
saying when the model was fitted and on how many rows."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib

from analytics.reports.types import Report, ReportOptions

logger = logging.getLogger(__name__)

SUBDIR = "analytics"
MODEL_NAMES = ("satisfaction", "segments", "journey", "risk")


class ModelNotFitted(LookupError):
    """No fitted model of that name exists yet."""


@dataclass(frozen=True)
class ModelInfo:
    """The card saved beside a fitted model."""

    name: str
    fitted_at: datetime
    n_rows: int
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fitted_at"] = self.fitted_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(name=data["name"], fitted_at=datetime.fromisoformat(data["fitted_at"]),
                   n_rows=int(data["n_rows"]), metrics=data.get("metrics") or {})


def _paths(models_dir: Path, name: str) -> tuple[Path, Path]:
    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown analytics model {name!r}; known: {', '.join(MODEL_NAMES)}.")
    folder = Path(models_dir) / SUBDIR
    return folder / f"{name}.joblib", folder / f"{name}.json"


def save_model(models_dir: Path, name: str, model: Any, *, n_rows: int,
               fitted_at: datetime, metrics: dict[str, Any] | None = None) -> ModelInfo:
    """Save ``model`` (anything joblib can pickle) and its card, each replaced atomically."""
    model_path, card_path = _paths(models_dir, name)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    info = ModelInfo(name=name, fitted_at=fitted_at, n_rows=n_rows, metrics=metrics or {})
    tmp = model_path.with_suffix(".joblib.tmp")
    joblib.dump(model, tmp)
    tmp.replace(model_path)
    tmp = card_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info.to_dict(), indent=2, default=str), encoding="utf-8")
    tmp.replace(card_path)
    logger.info("Saved the %s model (%d rows) to %s", name, n_rows, model_path)
    return info


def load_model(models_dir: Path | None, name: str) -> tuple[Any, ModelInfo]:
    """The fitted model and its card; ModelNotFitted when it was never fitted (or there is
    no models directory to look in)."""
    model_path, card_path = _paths(models_dir or Path(), name)
    if models_dir is None or not model_path.exists() or not card_path.exists():
        raise ModelNotFitted(
            f"The {name} model has not been fitted yet; run `carebot analytics retrain`."
        )
    info = ModelInfo.from_dict(json.loads(card_path.read_text(encoding="utf-8")))
    return joblib.load(model_path), info


def model_infos(models_dir: Path | None) -> dict[str, ModelInfo | None]:
    """Each analytics model's card, or None for one never fitted."""
    out: dict[str, ModelInfo | None] = {}
    for name in MODEL_NAMES:
        if models_dir is None:
            out[name] = None
            continue
        _, card_path = _paths(models_dir, name)
        try:
            out[name] = ModelInfo.from_dict(json.loads(card_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError):
            out[name] = None
    return out


def report_from_model(name: str, options: ReportOptions, empty: Report,
                      build: Callable[[Any, ModelInfo], Report]) -> Report:
    """``build(model, card)`` from the last fit of model ``name``; before the first fit,
    ``empty`` with a note that says how to fit it."""
    try:
        model, info = load_model(options.models_dir, name)
    except ModelNotFitted as exc:
        return replace(empty, rows=[], notes=[*empty.notes, str(exc)])
    return build(model, info)
