"""Customer risk: an anomaly model (scikit-learn's IsolationForest behind the estimator API)
over each customer's behaviour: returns, refunds, cancellations, complaints, order values and
how many addresses they ship to. Each flagged customer comes with the features that made the
score (what changes most when that feature is set to the typical customer's value).

Refitted by ``carebot analytics retrain``; read by ``carebot report risk``,
``/api/reports/risk`` and the agent console's customer panel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, RobustScaler
from sklearn.utils.validation import check_is_fitted
from sqlalchemy import Connection, Engine, func, select
from threadpoolctl import threadpool_limits

from analytics.insights.model_store import ModelInfo, report_from_model, save_model
from analytics.quality.cleaning import Clip, Deduplicate, DropMissing, Impute, clean
from analytics.reports.scope import IF, C, ReportFilters
from analytics.reports.types import Column, Report
from analytics.store.records import naive_utc_now
from analytics.store.schema import Customer, Escalation, Order

logger = logging.getLogger(__name__)

MODEL_NAME = "risk"
MIN_CUSTOMERS = 30
PRIOR_ORDERS = 4  # rates are shrunk towards the shop's own rate by this many pseudo-orders
DEFAULT_COMPLAINT_INTENTS = ("complaint",)
REFUNDED = ("requested", "processing", "refunded")

# feature -> what it means to the agent reading the reasons
FEATURES: dict[str, str] = {
    "orders": "orders placed",
    "return_rate": "share of orders returned",
    "cancel_rate": "share of orders cancelled",
    "refund_rate": "share of orders refunded or with a refund asked for",
    "refund_without_return_rate": "share of orders refunded without being returned",
    "avg_order_value": "average order value",
    "max_order_value": "largest order",
    "shipping_addresses": "different shipping addresses",
    "complaints": "conversations with a complaint",
}
_LOGGED = ("orders", "avg_order_value", "max_order_value", "shipping_addresses", "complaints")
_RATES = ("return_rate", "cancel_rate", "refund_rate", "refund_without_return_rate")
CLEANING = (
    Deduplicate(key=("email",)),  # one person, one row (case and spaces ignored)
    # Without an order there is no behaviour to judge: such customers are not scored.
    DropMissing(("avg_order_value", "max_order_value")),
    Impute("complaints", "constant", 0.0),
    *(Clip(rate, lower=0.0, upper=1.0) for rate in _RATES),
)


class NotEnoughCustomers(ValueError):
    """Too few customers to learn what normal behaviour looks like."""


def _log_some(X: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=float, copy=True)
    for i, name in enumerate(FEATURES):
        if name in _LOGGED:
            X[:, i] = np.log1p(np.clip(X[:, i], 0, None))
    return X


class CustomerRiskModel(BaseEstimator):
    """An IsolationForest on log-scaled, robustly standardised customer features.

    ``score_samples`` is the anomaly score (higher: more unusual); ``predict`` follows
    scikit-learn's outlier detectors (-1 flagged, 1 normal); ``explain`` names the features
    behind each score.
    """

    def __init__(self, contamination: float = 0.04, n_estimators: int = 300,
                 random_state: int = 0) -> None:
        self.contamination = contamination
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> CustomerRiskModel:
        X = np.asarray(X, dtype=float)
        self.pipeline_ = Pipeline([
            ("log", FunctionTransformer(_log_some)), ("scale", RobustScaler()),
            ("forest", IsolationForest(n_estimators=self.n_estimators,
                                       contamination=self.contamination,
                                       random_state=self.random_state))])
        with threadpool_limits(limits=1):  # small data: threads only cost start-up time
            self.pipeline_.fit(X)
        self.typical_ = np.median(X, axis=0)
        # IsolationForest's offset_ separates the top `contamination` share of scores.
        self.threshold_ = float(-self.pipeline_["forest"].offset_)
        self.n_features_in_ = X.shape[1]
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        return -self.pipeline_.score_samples(np.asarray(X, dtype=float))

    def decision_function(self, X: Any) -> np.ndarray:
        """Score minus the alert threshold: positive means flagged."""
        return self.score_samples(X) - self.threshold_

    def predict(self, X: Any) -> np.ndarray:
        return np.where(self.decision_function(X) > 0, -1, 1)

    def explain(self, X: Any, top: int = 3) -> list[list[tuple[int, float]]]:
        """Per row, the ``top`` features (index, score drop) whose typical value would make
        the customer look most ordinary: what made the score."""
        X = np.asarray(X, dtype=float)
        base = self.score_samples(X)
        drops = np.zeros_like(X)
        for j in range(X.shape[1]):
            typical = X.copy()
            typical[:, j] = self.typical_[j]
            drops[:, j] = base - self.score_samples(typical)
        out = []
        for row in drops:
            order = np.argsort(-row)[:top]
            # Features that explain little next to the main one are left out.
            floor = max(1e-6, 0.2 * float(row[order[0]])) if len(order) else 1e-6
            out.append([(int(j), float(row[j])) for j in order if row[j] >= floor])
        return out


ORDER_CLEANING = (
    Clip("total", lower=0.0),  # a negative total is a data error, not behaviour
    Impute("total", "median"),
)


def load_orders(conn: Connection) -> pd.DataFrame:
    """Every order's customer, status, refund, total and address (the model's raw rows)."""
    O = Order.__table__  # noqa: E741, N806
    rows = conn.execute(select(O.c.customer_id, O.c.status, O.c.refund_status, O.c.total,
                               O.c.shipping_address)).all()
    orders = pd.DataFrame(rows, columns=["customer_id", "status", "refund_status", "total",
                                         "shipping_address"])
    orders["total"] = pd.to_numeric(orders["total"], errors="coerce").astype(float)
    return orders


def customer_features(conn: Connection, orders: pd.DataFrame,
                      complaint_intents: tuple[str, ...] = DEFAULT_COMPLAINT_INTENTS
                      ) -> pd.DataFrame:
    """One row per customer: their behaviour as FEATURES, plus id, external id and name."""
    refunded = orders["refund_status"].isin(REFUNDED)
    kept = ~orders["status"].isin(("returned", "cancelled"))
    address = orders["shipping_address"].fillna("").str.strip().str.lower()
    per = orders.assign(returned=orders["status"] == "returned",
                        cancelled=orders["status"] == "cancelled", refunded=refunded,
                        refund_no_return=refunded & kept, address=address.where(address != ""))
    by_customer = per.groupby("customer_id").agg(
        orders=("status", "size"), returned=("returned", "sum"), cancelled=("cancelled", "sum"),
        refunded=("refunded", "sum"), refund_no_return=("refund_no_return", "sum"),
        avg_order_value=("total", "mean"), max_order_value=("total", "max"),
        shipping_addresses=("address", "nunique")).reset_index()
    complained = (select(C.c.id).where(C.c.customer_id == Customer.id)
                  .where(C.c.id.in_(select(IF.c.conversation_id)
                                    .where(IF.c.intent.in_(complaint_intents)))
                         | C.c.id.in_(select(Escalation.conversation_id)
                                      .where(Escalation.reason == "complaint"))))
    people = pd.DataFrame(conn.execute(
        select(Customer.id.label("customer_id"), Customer.external_id, Customer.name,
               Customer.email,
               select(func.count()).select_from(complained.subquery()).scalar_subquery()
               .label("complaints"))).mappings().all(),
        columns=["customer_id", "external_id", "name", "email", "complaints"])
    data = people.merge(by_customer, on="customer_id", how="left")
    for column in ("orders", "returned", "cancelled", "refunded", "refund_no_return",
                   "shipping_addresses"):
        data[column] = pd.to_numeric(data[column], errors="coerce").fillna(0.0).astype(float)
    for column in ("avg_order_value", "max_order_value", "complaints"):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    n = data["orders"]
    for rate, count in (("return_rate", "returned"), ("cancel_rate", "cancelled"),
                        ("refund_rate", "refunded"),
                        ("refund_without_return_rate", "refund_no_return")):
        shop_rate = data[count].sum() / n.sum() if n.sum() else 0.0
        # One returned order out of one is not a pattern: shrink towards the shop's rate.
        data[rate] = (data[count] + PRIOR_ORDERS * shop_rate) / (n + PRIOR_ORDERS)
    return data


@dataclass(frozen=True)
class RiskFit:
    customers: int
    flagged: int
    threshold: float
    cleaning: dict[str, Any]


def fit_risk(engine: Engine, models_dir: Path, *,
             complaint_intents: tuple[str, ...] = DEFAULT_COMPLAINT_INTENTS,
             contamination: float = 0.04) -> RiskFit:
    """Fit the model on every customer, score them all, save both with the model's card."""
    with engine.connect() as conn:
        orders, order_cleaning = clean(load_orders(conn), ORDER_CLEANING)
        raw = customer_features(conn, orders, complaint_intents)
    data, cleaning = clean(raw, CLEANING)
    cleaned = {"orders": order_cleaning.to_dict(), "customers": cleaning.to_dict()}
    if len(data) < MIN_CUSTOMERS:
        raise NotEnoughCustomers(
            f"Only {len(data)} customers; the risk model needs {MIN_CUSTOMERS} to learn what "
            "is normal. Seed the demo shop (`carebot demo-data`) or collect more data.")
    X = data[list(FEATURES)].to_numpy(dtype=float)
    model = CustomerRiskModel(contamination=contamination).fit(X)
    scores = score_customers(model, data)
    fitted_at = naive_utc_now()
    flagged = sum(1 for s in scores.values() if s["flagged"])
    save_model(models_dir, MODEL_NAME,
               {"model": model, "features": list(FEATURES), "scores": scores},
               n_rows=len(data), fitted_at=fitted_at,
               metrics={"flagged": flagged, "threshold": round(model.threshold_, 4),
                        "contamination": contamination, "cleaning": cleaned})
    logger.info("Risk model: %d customers, %d flagged (orders: %s; customers: %s)", len(data),
                flagged, order_cleaning.describe(), cleaning.describe())
    return RiskFit(len(data), flagged, model.threshold_, cleaned)


def _reason(name: str, value: float, typical: float) -> str:
    label = FEATURES[name]
    if name in _RATES:
        return f"{label}: {100 * value:.0f}% (typical {100 * typical:.0f}%)"
    if name in ("avg_order_value", "max_order_value"):
        return f"{label}: ${value:,.0f} (typical ${typical:,.0f})"
    return f"{label}: {value:g} (typical {typical:g})"


def score_customers(model: CustomerRiskModel, data: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Every customer's score, flag and reasons, by external id."""
    X = data[list(FEATURES)].to_numpy(dtype=float)
    scores = model.score_samples(X)
    names = list(FEATURES)
    out = {}
    for i, explained in enumerate(model.explain(X)):
        row = data.iloc[i]
        out[str(row["external_id"])] = {
            "customer_id": str(row["external_id"]), "name": row["name"],
            "score": round(float(scores[i]), 4),
            "flagged": bool(scores[i] > model.threshold_),
            "reasons": [_reason(names[j], float(X[i, j]), float(model.typical_[j]))
                        for j, _ in explained],
            "features": {n: round(float(X[i, k]), 4) for k, n in enumerate(names)},
        }
    return out


COLUMNS = [Column("customer_id", "Customer"), Column("name", "Name"),
           Column("score", "Risk score", "float"), Column("flagged", "Flagged", "bool"),
           Column("reasons", "Why")]


def risk_report(conn: Connection, filters: ReportFilters, options: Any) -> Report:
    """Customers by risk score, flagged first, with the features behind each score."""
    empty = Report("risk", "Customer risk (anomaly model)", COLUMNS, [], filters)

    def build(bundle: dict, info: ModelInfo) -> Report:
        rows = sorted(bundle["scores"].values(), key=lambda r: -r["score"])
        shown = [r for r in rows if r["flagged"]] or rows[:10]
        rows = [{**{k: r[k] for k in ("customer_id", "name", "score", "flagged")},
                 "reasons": "; ".join(r["reasons"])} for r in shown[:options.limit]]
        return Report("risk", "Customer risk (anomaly model)", COLUMNS, rows, filters,
                      meta={"fitted_at": info.fitted_at, "n_rows": info.n_rows,
                            **{k: v for k, v in info.metrics.items() if k != "cleaning"}},
                      notes=[f"Flagged: anomaly score above the model's threshold "
                             f"({info.metrics.get('threshold')}); the reasons are the features "
                             "that move the score most when set to the typical customer's "
                             "value.", "Run `carebot analytics retrain` to refit."])

    return report_from_model(MODEL_NAME, options, empty, build)


def customer_risk(models_dir: Path | None, external_id: str) -> dict[str, Any] | None:
    """One customer's score, flag and reasons from the last fit (None: not fitted / unknown)."""
    from analytics.insights.model_store import ModelNotFitted, load_model

    try:
        bundle, info = load_model(models_dir, MODEL_NAME)
    except ModelNotFitted:
        return None
    found = bundle["scores"].get(external_id)
    return None if found is None else {**found, "fitted_at": info.fitted_at.isoformat()}


__all__ = ["CustomerRiskModel", "FEATURES", "NotEnoughCustomers", "RiskFit", "customer_risk",
           "customer_features", "fit_risk", "load_orders", "risk_report", "score_customers"]
