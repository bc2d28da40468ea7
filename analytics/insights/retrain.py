"""Refit every analytics model in one go: rollups first, then satisfaction, segments, journey."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from tqdm import tqdm

from analytics.insights.journey import fit_journey
from analytics.insights.risk import NotEnoughCustomers as TooFewForRisk
from analytics.insights.risk import RiskFit, fit_risk
from analytics.insights.satisfaction import NotEnoughRatings, SatisfactionFit, fit_satisfaction
from analytics.insights.segments import NotEnoughCustomers, SegmentProfile, fit_segments
from analytics.store.rollups import refresh_stale_facts

logger = logging.getLogger(__name__)


@dataclass
class RetrainSummary:
    """What ``retrain`` fitted, and what it had to skip (with the reason)."""

    facts_refreshed: int = 0
    satisfaction: SatisfactionFit | None = None
    segments: list[SegmentProfile] = field(default_factory=list)
    journey_conversations: int = 0
    risk: RiskFit | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sat = self.satisfaction
        return {
            "facts_refreshed": self.facts_refreshed,
            "satisfaction": None if sat is None else {
                "rated": sat.n_rated, "predicted": sat.n_predicted, "chosen": sat.chosen,
                "linear": {"r2": round(sat.linear_r2, 4), "mae": round(sat.linear_mae, 4)},
                "boosted": {"r2": round(sat.boosted_r2, 4), "mae": round(sat.boosted_mae, 4)}},
            "segments": {p.name: p.customers for p in self.segments},
            "journey_conversations": self.journey_conversations,
            "risk": None if self.risk is None else {"customers": self.risk.customers,
                                                    "flagged": self.risk.flagged},
            "skipped": self.skipped,
        }


def retrain(engine: Engine, models_dir: Path, *, progress: bool = True,
            now: datetime | None = None) -> RetrainSummary:
    """Refit the satisfaction, segmentation and journey models from the database.

    A model without enough data is skipped with the reason in ``skipped``; the others are
    still fitted.
    """
    summary = RetrainSummary()
    steps = ("rollups", "satisfaction", "segments", "journey", "risk")
    with tqdm(total=len(steps), desc="analytics models", unit="step",
              disable=not progress) as bar:
        bar.set_postfix_str("rollups")
        summary.facts_refreshed = refresh_stale_facts(engine, progress=progress)
        bar.update()
        bar.set_postfix_str("satisfaction")
        try:
            summary.satisfaction = fit_satisfaction(engine, models_dir, now=now)
        except NotEnoughRatings as exc:
            summary.skipped["satisfaction"] = str(exc)
        bar.update()
        bar.set_postfix_str("segments")
        try:
            summary.segments = fit_segments(engine, models_dir)
        except NotEnoughCustomers as exc:
            summary.skipped["segments"] = str(exc)
        bar.update()
        bar.set_postfix_str("journey")
        summary.journey_conversations = fit_journey(engine, models_dir).conversations
        bar.update()
        bar.set_postfix_str("risk")
        try:
            summary.risk = fit_risk(engine, models_dir)
        except TooFewForRisk as exc:
            summary.skipped["risk"] = str(exc)
        bar.update()
    for name, reason in summary.skipped.items():
        logger.warning("Skipped the %s model: %s", name, reason)
    return summary
