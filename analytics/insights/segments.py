"""Customer segmentation: k-means on recency, frequency, monetary value (RFM) and support
history, with each segment named after what sets it apart."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sqlalchemy import Connection, Engine, case, delete, func, insert, select
from threadpoolctl import threadpool_limits

from analytics.insights.model_store import ModelInfo, report_from_model, save_model
from analytics.reports.scope import SEG, C, F, ReportFilters, conversations_in, has_filters
from analytics.reports.types import Column, Report
from analytics.store.records import naive_utc_now
from analytics.store.schema import Order

logger = logging.getLogger(__name__)

O = Order.__table__  # noqa: E741
FEATURES = ("recency_days", "orders", "spend", "contacts", "escalation_share",
            "avg_sentiment", "csat")
_LOGGED = ("recency_days", "orders", "spend", "contacts")  # long-tailed: compare on log scale
MIN_CUSTOMERS = 20
K_RANGE = range(3, 7)
_SILHOUETTE_SAMPLE = 5000


class NotEnoughCustomers(ValueError):
    """Too few customers with orders or conversations to segment."""


@dataclass(frozen=True)
class SegmentProfile:
    name: str
    customers: int
    median: dict[str, float]  # per feature, in its own unit
    z: dict[str, float]  # centroid in standardised units: how it differs from the average


def load_customer_features(conn: Connection, now: datetime | None = None) -> pd.DataFrame:
    """RFM and support history per customer who ordered or talked to support."""
    orders = pd.DataFrame(conn.execute(
        select(O.c.customer_id, func.count().label("orders"),
               func.sum(O.c.total).label("spend"), func.max(O.c.created_at).label("last_order"))
        .group_by(O.c.customer_id)).mappings().all(),
        columns=["customer_id", "orders", "spend", "last_order"])
    support = pd.DataFrame(conn.execute(
        select(C.c.customer_id, func.count().label("contacts"),
               func.sum(case((C.c.escalated, 1), else_=0)).label("escalated"),
               func.sum(F.c.sentiment_sum).label("sentiment_sum"),
               func.sum(F.c.sentiment_n).label("sentiment_n"),
               func.avg(C.c.csat_rating).label("csat"))
        .select_from(C.join(F, F.c.conversation_id == C.c.id))
        .where(C.c.customer_id.is_not(None), F.c.user_messages > 0)
        .group_by(C.c.customer_id)).mappings().all(),
        columns=["customer_id", "contacts", "escalated", "sentiment_sum", "sentiment_n", "csat"])
    data = orders.merge(support, on="customer_id", how="outer")
    if data.empty:
        return pd.DataFrame(columns=["customer_id", *FEATURES])
    last_order = pd.to_datetime(data["last_order"])
    reference = pd.Timestamp(now) if now is not None else last_order.max()
    first_order_gap = (reference - last_order.min()).days if last_order.notna().any() else 365
    out = pd.DataFrame({"customer_id": data["customer_id"].astype(int)})
    # Never ordered: as lapsed as the oldest customer who did.
    out["recency_days"] = ((reference - last_order).dt.days.astype(float)
                           .fillna(float(first_order_gap)).clip(lower=0))
    out["orders"] = pd.to_numeric(data["orders"], errors="coerce").fillna(0.0)
    out["spend"] = pd.to_numeric(data["spend"], errors="coerce").astype(float).fillna(0.0)
    out["contacts"] = pd.to_numeric(data["contacts"], errors="coerce").fillna(0.0)
    escalated = pd.to_numeric(data["escalated"], errors="coerce").fillna(0.0)
    out["escalation_share"] = (escalated / out["contacts"].where(out["contacts"] > 0)).fillna(0.0)
    sentiment = (pd.to_numeric(data["sentiment_sum"], errors="coerce")
                 / pd.to_numeric(data["sentiment_n"], errors="coerce").where(
                     lambda s: s > 0))
    out["avg_sentiment"] = sentiment.fillna(0.0)  # never talked to us: neutral
    csat = pd.to_numeric(data["csat"], errors="coerce").astype(float)
    out["csat"] = csat.fillna(csat.mean() if csat.notna().any() else 3.0)
    return out.reset_index(drop=True)


def _log_some(X: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=float, copy=True)
    for i, name in enumerate(FEATURES):
        if name in _LOGGED:
            X[:, i] = np.log1p(np.clip(X[:, i], 0, None))
    return X


def _pipeline(k: int) -> Pipeline:
    return Pipeline([("log", FunctionTransformer(_log_some)), ("scale", StandardScaler()),
                     ("kmeans", KMeans(n_clusters=k, n_init=10, random_state=0))])


def name_segment(z: dict[str, float]) -> str:
    """A segment's name from how its centre differs from the average customer (in SDs)."""
    value = ("High-value" if z["spend"] >= 0.5 else "Low-spend" if z["spend"] <= -0.5
             else "Mid-value")
    if z["recency_days"] >= 0.5:
        activity = "lapsed"
    elif z["orders"] >= 0.5:
        activity = "frequent"
    elif z["recency_days"] <= -0.5:
        activity = "recent"
    else:
        activity = "occasional"
    name = f"{value} {activity} customers"
    if z["avg_sentiment"] <= -0.5 or z["csat"] <= -0.5:
        name += ", unhappy"
    elif z["contacts"] >= 0.75 or z["escalation_share"] >= 0.75:
        name += ", need support"
    elif z["avg_sentiment"] >= 0.5 and z["csat"] >= 0.25:
        name += ", happy"
    return name


def fit_segments(engine: Engine, models_dir: Path, *,
                 now: datetime | None = None) -> list[SegmentProfile]:
    """Choose k by silhouette, fit k-means, name the segments, store each customer's."""
    with engine.connect() as conn:
        data = load_customer_features(conn, now)
    if len(data) < MIN_CUSTOMERS:
        raise NotEnoughCustomers(
            f"Only {len(data)} customers have orders or conversations; segmentation needs "
            f"{MIN_CUSTOMERS}. Seed the demo shop (`carebot demo-data`) or collect more data."
        )
    X = data[list(FEATURES)].to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    sample = rng.choice(len(X), size=min(len(X), _SILHOUETTE_SAMPLE), replace=False)
    best: tuple[float, Pipeline] | None = None
    for k in K_RANGE:
        if k >= len(X):
            break
        with threadpool_limits(limits=1):  # see satisfaction.py: small data, busy machines
            pipeline = _pipeline(k).fit(X)
        labels = pipeline["kmeans"].labels_
        if len(set(labels[sample])) < 2:
            continue
        score = silhouette_score(pipeline[:-1].transform(X[sample]), labels[sample])
        if best is None or score > best[0]:
            best = (score, pipeline)
    if best is None:
        raise NotEnoughCustomers("The customers are too alike to split into segments.")
    score, pipeline = best
    labels = pipeline["kmeans"].labels_
    profiles = _profiles(data, labels, pipeline["kmeans"].cluster_centers_)
    fitted_at = naive_utc_now()
    _store_assignments(engine, data["customer_id"].tolist(),
                       [profiles[label].name for label in labels], fitted_at)
    save_model(models_dir, "segments",
               {"pipeline": pipeline, "features": list(FEATURES),
                "profiles": [p.__dict__ for p in profiles]},
               n_rows=len(data), fitted_at=fitted_at,
               metrics={"k": len(profiles), "silhouette": round(float(score), 4)})
    logger.info("Segmented %d customers into %d segments (silhouette %.3f)", len(data),
                len(profiles), score)
    return profiles


_QUALIFIERS = {  # feature -> (words when above average, words when below)
    "contacts": ("many contacts", "few contacts"),
    "escalation_share": ("often escalated", "rarely escalated"),
    "avg_sentiment": ("positive", "negative"),
    "csat": ("high CSAT", "low CSAT"),
    "orders": ("many orders", "few orders"),
    "recency_days": ("long since last order", "ordered lately"),
    "spend": ("big spenders", "small spenders"),
}


def _qualified(base: str, z: dict[str, float], used: set[str]) -> str:
    """``base`` made unique by the features on which this segment stands out most."""
    for feature in sorted(_QUALIFIERS, key=lambda f: -abs(z[f])):
        name = f"{base} ({_QUALIFIERS[feature][0 if z[feature] >= 0 else 1]})"
        if name not in used:
            return name
    n = 2
    while f"{base} ({n})" in used:
        n += 1
    return f"{base} ({n})"


def _profiles(data: pd.DataFrame, labels: np.ndarray,
              centers: np.ndarray) -> list[SegmentProfile]:
    profiles, used = [], set()
    zs = [{name: round(float(v), 3) for name, v in zip(FEATURES, center, strict=True)}
          for center in centers]
    bases = [name_segment(z) for z in zs]
    for label, z in enumerate(zs):
        base = bases[label]
        # Segments sharing a name are told apart by what distinguishes each of them.
        name = base if bases.count(base) == 1 else _qualified(base, z, used)
        used.add(name)
        members = data[labels == label]
        median = {f: round(float(members[f].median()), 3) for f in FEATURES}
        profiles.append(SegmentProfile(name, int(len(members)), median, z))
    return profiles


def _store_assignments(engine: Engine, customer_ids: list[int], names: list[str],
                       fitted_at: datetime) -> None:
    table = SEG
    rows = [{"customer_id": cid, "segment": name, "fitted_at": fitted_at}
            for cid, name in zip(customer_ids, names, strict=True)]
    with engine.begin() as conn:
        conn.execute(delete(table))
        for start in range(0, len(rows), 5000):
            conn.execute(insert(table), rows[start : start + 5000])


_PROFILE_LABELS = {"recency_days": "Days since last order", "orders": "Orders",
                   "spend": "Spend ($)", "contacts": "Contacts",
                   "escalation_share": "Escalated share", "avg_sentiment": "Avg sentiment",
                   "csat": "CSAT (1-5)"}


def profiles_report(conn: Connection, filters: ReportFilters, options: Any) -> Report:
    """Each segment's size and typical customer, from the last fit."""
    columns = [Column("segment", "Segment"), Column("customers", "Customers", "int"),
               *[Column(f, _PROFILE_LABELS.get(f, f.replace("_", " ")),
                        "int" if f in ("orders", "contacts", "recency_days") else "float")
                 for f in FEATURES]]
    empty = Report("segment-profiles", "Customer segments", columns, [], filters)

    def build(artifact: dict[str, Any], info: ModelInfo) -> Report:
        # Medians of counts are shown whole: "12.00 orders" reads as false precision.
        rows = [{"segment": p["name"], "customers": p["customers"],
                 **{f: round(v) if f in ("orders", "contacts", "recency_days") else v
                    for f, v in p["median"].items()}} for p in artifact["profiles"]]
        rows.sort(key=lambda r: -r["customers"])
        notes = ["Medians of each segment's members; fitted on all customers (all-time)."]
        if has_filters(filters) and not conversations_in(conn, filters, options.at):
            rows, notes = [], ["No conversations match these filters.", *notes]
        return Report("segment-profiles", "Customer segments (typical member)", columns, rows,
                      filters, meta={"fitted_at": info.fitted_at, "n_rows": info.n_rows,
                                     **info.metrics},
                      notes=notes)

    return report_from_model("segments", options, empty, build)
