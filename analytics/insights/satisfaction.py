"""The satisfaction model: what a conversation's CSAT depends on, and a guess for unrated ones.

A linear regression is the readable baseline: its coefficients (with 95% confidence
intervals) are the drivers shown to the analyst. A gradient-boosted model beside it is
usually more accurate; both are cross-validated (R², MAE), and the better one predicts the
CSAT of conversations the customer did not rate (stored in ``csat_predictions``, marked
predicted wherever it is shown).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sqlalchemy import Connection, Engine, case, delete, func, insert, select
from threadpoolctl import threadpool_limits

from analytics.insights.model_store import ModelInfo, report_from_model, save_model
from analytics.quality.cleaning import CleaningLog, Clip, Deduplicate, clean
from analytics.reports.scope import (
    CU,
    C,
    F,
    ReportFilters,
    conversations_in,
    has_filters,
    outcome_expr,
    scope,
)
from analytics.reports.types import Column, Report
from analytics.store.records import naive_utc_now
from analytics.store.schema import CsatPrediction, Escalation, Order

logger = logging.getLogger(__name__)

MIN_RATED = 30
CV_FOLDS = 5
# Below this cross-validated R² the linear model explains too little of the ratings for its
# coefficients to be read as drivers: they would be noise with error bars.
MIN_USEFUL_R2 = 0.1
# Fewer rated conversations than this per feature: coefficients are too unstable to show.
RATINGS_PER_FEATURE = 10
E = Escalation.__table__
O = Order.__table__  # noqa: E741
P = CsatPrediction.__table__

# feature -> what it means to an analyst (the unit its coefficient is per)
FEATURES: dict[str, str] = {
    "sentiment_first": "sentiment of the first message (-1..1)",
    "sentiment_last": "sentiment of the last message (-1..1)",
    "sentiment_min": "lowest sentiment in the conversation (-1..1)",
    "turns": "customer messages",
    "fallbacks": "messages the bot did not understand",
    "escalated": "handed to a person (yes = 1)",
    "wait_minutes": "minutes waiting for an agent's first reply",
    "handle_minutes": "minutes an agent worked on it",
    "resolved": "resolved (by the bot or an agent; yes = 1)",
    "abandoned": "customer left waiting on the bot (yes = 1)",
    "tenure_days": "days since the customer signed up (0 if anonymous)",
    "orders_before": "orders placed before the conversation",
    "spend_before_100": "spend before the conversation, per $100",
}


class NotEnoughRatings(ValueError):
    """Too few rated conversations to fit the satisfaction model."""


@dataclass(frozen=True)
class SatisfactionFit:
    """What fitting found: cross-validated scores of both models and the drivers."""

    n_rated: int
    n_predicted: int
    linear_r2: float
    linear_mae: float
    boosted_r2: float
    boosted_mae: float
    chosen: str
    drivers: list[dict[str, Any]]


def load_features(conn: Connection, now: datetime | None = None,
                  filters: ReportFilters | None = None) -> pd.DataFrame:
    """One row per conversation with a customer message (that ``filters`` select, if
    given): the features and the rating."""
    now = now or naive_utc_now()
    window = scope(filters or ReportFilters(), now, customers=True)
    resolved_by_agent = (
        select(E.c.conversation_id,
               func.min(E.c.created_at).label("handoff_at"),
               func.min(E.c.first_response_at).label("first_response_at"),
               func.min(E.c.claimed_at).label("claimed_at"),
               func.max(E.c.resolved_at).label("resolved_at"),
               func.count(E.c.id).label("escalations"),
               func.count(E.c.resolved_at).label("resolved_escalations"))
        .group_by(E.c.conversation_id).subquery()
    )
    orders = (
        select(C.c.id.label("conversation_id"), func.count(O.c.id).label("orders_before"),
               func.coalesce(func.sum(O.c.total), 0).label("spend_before"))
        .select_from(C.join(O, (O.c.customer_id == C.c.customer_id)
                            & (O.c.created_at < C.c.started_at)))
        .group_by(C.c.id).subquery()
    )
    query = (
        select(C.c.id.label("conversation_id"), C.c.csat_rating, C.c.started_at,
               C.c.customer_id, F.c.sentiment_first, F.c.sentiment_last, F.c.sentiment_min,
               F.c.user_messages.label("turns"), F.c.fallback_messages.label("fallbacks"),
               case((C.c.escalated, 1), else_=0).label("escalated"),
               outcome_expr(now).label("outcome"), CU.c.created_at.label("customer_since"),
               resolved_by_agent.c.handoff_at, resolved_by_agent.c.first_response_at,
               resolved_by_agent.c.claimed_at, resolved_by_agent.c.resolved_at,
               resolved_by_agent.c.resolved_escalations, orders.c.orders_before,
               orders.c.spend_before)
        .select_from(
            window.from_
            .outerjoin(resolved_by_agent, resolved_by_agent.c.conversation_id == C.c.id)
            .outerjoin(orders, orders.c.conversation_id == C.c.id))
        .where(*window.where)
    )
    raw = pd.DataFrame(conn.execute(query).mappings().all())
    return build_features(raw)


# Declared cleaning of the rows the models learn from (the card says what it changed): one row
# per conversation, ratings within 1-5, no negative times or spend, and the few very long waits,
# handle times, conversations and big spenders clipped at the 99th percentile so that they do
# not set the slopes.
CLEANING = (
    Deduplicate(("conversation_id",)),
    Clip("csat_rating", lower=1, upper=5),
    Clip("wait_minutes", lower=0, upper_quantile=0.99),
    Clip("handle_minutes", lower=0, upper_quantile=0.99),
    Clip("turns", lower=0, upper_quantile=0.99),
    Clip("spend_before_100", lower=0, upper_quantile=0.99),
)


def clean_features(data: pd.DataFrame) -> tuple[pd.DataFrame, CleaningLog]:
    """:data:`CLEANING` applied to :func:`load_features`' rows."""
    return clean(data, CLEANING)


def cleaning_card(log: CleaningLog) -> dict[str, Any]:
    """The model card's entries for what was cleaned: the steps and one line in words."""
    return {"cleaning": log.to_dict(), "cleaned": log.describe()}


def build_features(raw: pd.DataFrame) -> pd.DataFrame:
    """The model's features from the joined rows :func:`load_features` reads."""
    if raw.empty:
        return pd.DataFrame(columns=["conversation_id", "csat_rating", *FEATURES])

    def minutes(end: str, start: str) -> pd.Series:
        delta = pd.to_datetime(raw[end]) - pd.to_datetime(raw[start])
        return (delta.dt.total_seconds() / 60).clip(lower=0).fillna(0.0)

    out = pd.DataFrame({"conversation_id": raw["conversation_id"],
                        "csat_rating": pd.to_numeric(raw["csat_rating"], errors="coerce")})
    for name in ("sentiment_first", "sentiment_last", "sentiment_min"):
        out[name] = pd.to_numeric(raw[name], errors="coerce").fillna(0.0)
    out["turns"] = raw["turns"].astype(float)
    out["fallbacks"] = raw["fallbacks"].astype(float)
    out["escalated"] = raw["escalated"].astype(float)
    out["wait_minutes"] = minutes("first_response_at", "handoff_at")
    claimed = raw["claimed_at"].where(raw["claimed_at"].notna(), raw["first_response_at"])
    out["handle_minutes"] = ((pd.to_datetime(raw["resolved_at"]) - pd.to_datetime(claimed))
                             .dt.total_seconds().div(60).clip(lower=0).fillna(0.0))
    agent_resolved = pd.to_numeric(raw["resolved_escalations"], errors="coerce").fillna(0) > 0
    out["resolved"] = ((raw["outcome"] == "contained") | agent_resolved).astype(float)
    out["abandoned"] = (raw["outcome"] == "abandoned").astype(float)
    since = pd.to_datetime(raw["customer_since"])
    out["tenure_days"] = ((pd.to_datetime(raw["started_at"]) - since).dt.total_seconds()
                          / 86400).clip(lower=0).fillna(0.0)
    out["orders_before"] = pd.to_numeric(raw["orders_before"], errors="coerce").fillna(0.0)
    out["spend_before_100"] = pd.to_numeric(raw["spend_before"], errors="coerce").fillna(0.0) / 100
    return out


def linear_drivers(X: pd.DataFrame, y: np.ndarray) -> list[dict[str, Any]]:
    """Ordinary least squares: each feature's coefficient with its 95% confidence interval."""
    names = list(X.columns)
    design = np.column_stack([np.ones(len(X)), X.to_numpy(dtype=float)])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ beta
    dof = max(len(y) - np.linalg.matrix_rank(design), 1)
    sigma2 = float(residuals @ residuals) / dof
    # pinv: a constant or collinear feature must not make the whole table fail.
    cov = sigma2 * np.linalg.pinv(design.T @ design)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    t_crit = stats.t.ppf(0.975, dof)
    spread = X.std(ddof=0).to_numpy(dtype=float)
    rows = []
    for i, name in enumerate(names, start=1):
        t_value = beta[i] / se[i] if se[i] > 0 else 0.0
        rows.append({
            "feature": name,
            "meaning": FEATURES.get(name, name),
            "coefficient": float(beta[i]),
            "ci_low": float(beta[i] - t_crit * se[i]),
            "ci_high": float(beta[i] + t_crit * se[i]),
            "p_value": float(2 * stats.t.sf(abs(t_value), dof)),
            "effect_per_sd": float(beta[i] * spread[i - 1]),
            # the interval in the same standardised unit as effect_per_sd
            "ci_low_sd": float((beta[i] - t_crit * se[i]) * spread[i - 1]),
            "ci_high_sd": float((beta[i] + t_crit * se[i]) * spread[i - 1]),
            "significant": bool(2 * stats.t.sf(abs(t_value), dof) < 0.05),
        })
    rows.sort(key=lambda r: -abs(r["effect_per_sd"]))
    return [{"feature": "intercept", "meaning": "baseline rating", "coefficient": float(beta[0]),
             "ci_low": float(beta[0] - t_crit * se[0]), "ci_high": float(beta[0] + t_crit * se[0]),
             "p_value": None, "effect_per_sd": None, "ci_low_sd": None, "ci_high_sd": None,
             "significant": None}, *rows]


@dataclass(frozen=True)
class ModelQuality:
    """How far the drivers can be trusted: the linear model's cross-validated figures."""

    cv_r2: float | None
    mae: float | None
    n: int
    usable: bool
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {"cv_r2": self.cv_r2, "mae": self.mae, "n": self.n, "usable": self.usable,
                "verdict": self.verdict}


def judge_model(metrics: dict[str, Any], n_rated: int) -> ModelQuality:
    """A verdict in words on the drivers model, and whether its drivers may be drawn."""
    linear = metrics.get("linear") or {}
    r2, mae = linear.get("r2"), linear.get("mae")
    needed = RATINGS_PER_FEATURE * len(FEATURES)
    if n_rated < needed:
        return ModelQuality(r2, mae, n_rated, False,
                            f"Not enough ratings: {n_rated} rated conversations, the drivers "
                            f"need at least {needed} ({RATINGS_PER_FEATURE} per feature). "
                            f"Collect {needed - n_rated} more ratings and retrain.")
    if r2 is None or r2 <= MIN_USEFUL_R2:
        shown = "unknown" if r2 is None else f"{r2:.2f}"
        return ModelQuality(r2, mae, n_rated, False,
                            f"Not useful: the model explains too little of the ratings "
                            f"(cross-validated R² {shown}; it needs more than "
                            f"{MIN_USEFUL_R2}), so its coefficients would be noise. More "
                            f"ratings (at least {2 * n_rated}) or ratings that vary with what "
                            f"the bot does are needed; retrain then.")
    strength = "strong" if r2 >= 0.5 else "moderate" if r2 >= 0.25 else "weak"
    return ModelQuality(r2, mae, n_rated, True,
                        f"A {strength} model: it explains {100 * r2:.0f}% of the variation "
                        f"in ratings on unseen conversations (typical error {mae:.2f} stars, "
                        f"{n_rated} ratings). Only drivers marked significant are reliable.")


def _models() -> dict[str, Pipeline]:
    return {
        "linear": Pipeline([("scale", StandardScaler()), ("model", LinearRegression())]),
        "boosted": Pipeline([("model", HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
            random_state=0))]),
    }


def fit_satisfaction(engine: Engine, models_dir: Path, *,
                     now: datetime | None = None) -> SatisfactionFit:
    """Fit both models on the rated conversations, save them, predict the unrated ones."""
    with engine.connect() as conn:
        data = load_features(conn, now)
    data, cleaning = clean_features(data)
    rated = data[data["csat_rating"].notna()]
    if len(rated) < MIN_RATED:
        raise NotEnoughRatings(
            f"Only {len(rated)} conversations are rated; the satisfaction model needs at least "
            f"{MIN_RATED}. Collect more ratings (or run `carebot simulate`) and retrain."
        )
    features = list(FEATURES)
    X, y = rated[features], rated["csat_rating"].to_numpy(dtype=float)
    folds = KFold(n_splits=min(CV_FOLDS, len(rated)), shuffle=True, random_state=0)
    scores = {}
    # One OpenMP thread: on a busy machine the boosted model's spinning threads made fitting
    # twenty times slower, and these data sets are small.
    with threadpool_limits(limits=1):
        for name, model in _models().items():
            cv = cross_validate(model, X, y, cv=folds,
                                scoring=("r2", "neg_mean_absolute_error"))
            scores[name] = (float(np.mean(cv["test_r2"])),
                            float(-np.mean(cv["test_neg_mean_absolute_error"])))
        chosen = max(scores, key=lambda k: scores[k][0])
        model = _models()[chosen].fit(X, y)
    drivers = linear_drivers(X, y)
    fitted_at = naive_utc_now()
    unrated = data[data["csat_rating"].isna()]
    predicted = np.clip(model.predict(unrated[features]), 1, 5) if len(unrated) else []
    _store_predictions(engine, list(unrated["conversation_id"]), predicted, chosen, fitted_at)
    metrics = {"linear": {"r2": scores["linear"][0], "mae": scores["linear"][1]},
               "boosted": {"r2": scores["boosted"][0], "mae": scores["boosted"][1]},
               "chosen": chosen, "predicted": len(unrated), "folds": folds.n_splits,
               **cleaning_card(cleaning)}
    save_model(models_dir, "satisfaction",
               {"model": model, "features": features, "drivers": drivers, "chosen": chosen},
               n_rows=len(rated), fitted_at=fitted_at, metrics=metrics)
    logger.info("Satisfaction model: linear R2 %.3f MAE %.3f, boosted R2 %.3f MAE %.3f on %d",
                *scores["linear"], *scores["boosted"], len(rated))
    return SatisfactionFit(len(rated), len(unrated), *scores["linear"], *scores["boosted"],
                           chosen, drivers)


def _store_predictions(engine: Engine, ids: list[str], values: Any, model: str,
                       fitted_at: datetime) -> None:
    rows = [{"conversation_id": cid, "predicted_csat": round(float(v), 3), "model": model,
             "fitted_at": fitted_at} for cid, v in zip(ids, values, strict=True)]
    with engine.begin() as conn:
        conn.execute(delete(P))
        for start in range(0, len(rows), 5000):
            conn.execute(insert(P), rows[start : start + 5000])


def driver_columns() -> list[Column]:
    """The drivers table's columns (the saved fit's and a refit's)."""
    return [Column("feature", "Feature"), Column("meaning", "Per unit of"),
            Column("coefficient", "Change in CSAT", "float"),
            Column("ci_low", "95% CI low", "float"), Column("ci_high", "95% CI high", "float"),
            Column("p_value", "p", "float"),
            Column("effect_per_sd", "Change per typical (1 SD) difference", "float"),
            Column("significant", "Significant (p < 0.05)", "bool")]


def drivers_report(conn: Connection, filters: ReportFilters, options: Any) -> Report:
    """The linear model's drivers of CSAT, from the last fit (filters do not apply), drawn
    only when the model passes :func:`judge_model`'s bar."""
    columns = driver_columns()
    empty = Report("satisfaction-drivers", "What drives CSAT", columns, [], filters)

    def build(artifact: dict[str, Any], info: ModelInfo) -> Report:
        quality = judge_model(info.metrics, info.n_rows)
        meta = {"fitted_at": info.fitted_at, "n_rows": info.n_rows, **info.metrics,
                "quality": quality.to_dict()}
        notes = [quality.verdict, "Linear regression on standardised features, fitted on all "
                 "rated conversations: the filters do not apply (all-time)."]
        rows = artifact["drivers"] if quality.usable else []
        if has_filters(filters) and not conversations_in(conn, filters, options.at):
            # The fit is all-time, but drawing it under filters that select nothing would
            # claim data the analyst has filtered away.
            rows, notes = [], ["No conversations match these filters.", *notes]
        return Report("satisfaction-drivers", "What drives CSAT", columns, rows, filters,
                      meta=meta, notes=notes)

    return report_from_model("satisfaction", options, empty, build)
