"""What the agent sees of risk: the conversation's abuse signals (its risk badge) and the
customer's score from the customer-risk model (the profile panel), and the history the
abuse guard judges refund requests against."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from analytics.store.shop import ShopRepository
from bot.monitoring.abuse import CustomerHistory, assess
from bot.monitoring.settings import AbuseSettings

logger = logging.getLogger(__name__)

_REFUNDISH = ("cancelled", "returned")


class RiskView:
    def __init__(self, abuse: AbuseSettings, models_dir: Path | None,
                 shop: ShopRepository | None = None) -> None:
        self.abuse = abuse
        self.models_dir = Path(models_dir) if models_dir else None
        self.shop = shop
        self._lock = threading.Lock()
        self._scores: dict[str, dict] = {}
        self._fitted_at: str | None = None
        self._mtime: float | None = None

    def conversation(self, events: list[dict]) -> dict[str, Any]:
        """The conversation's abuse assessment: score, level and reasons."""
        return assess(events, self.abuse).to_dict()

    def customer(self, external_id: str | None) -> dict[str, Any] | None:
        """The customer's score, flag and reasons from the last fit (blocking: a thread)."""
        if not external_id:
            return None
        self._reload()
        found = self._scores.get(external_id)
        return None if found is None else {**found, "fitted_at": self._fitted_at}

    def history(self, external_id: str) -> CustomerHistory | None:
        """Orders and refunds of a verified customer (blocking: call from a thread)."""
        if self.shop is None:
            return None
        orders = self.shop.orders_of(external_id)
        if not orders and self.shop.customer_by_external_id(external_id) is None:
            return None
        risk = self.customer(external_id)
        return CustomerHistory(orders=len(orders),
                               refunds=sum(o.status in _REFUNDISH for o in orders),
                               flagged=bool(risk and risk.get("flagged")))

    def _reload(self) -> None:
        """Re-read the model's scores when `carebot analytics retrain` wrote new ones."""
        if self.models_dir is None:
            return
        path = self.models_dir / "analytics" / "risk.joblib"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        with self._lock:
            if mtime == self._mtime:
                return
            from analytics.insights.model_store import ModelNotFitted, load_model

            try:
                bundle, info = load_model(self.models_dir, "risk")
            except (ModelNotFitted, OSError, ValueError, KeyError) as exc:
                logger.warning("could not read the customer-risk model: %s", exc)
                return
            self._scores = dict(bundle.get("scores") or {})
            self._fitted_at = info.fitted_at.isoformat()
            self._mtime = mtime
