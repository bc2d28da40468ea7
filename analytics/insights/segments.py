"""Customer segmentation: k-means on recency, frequency, monetary value (RFM) and support
history, with each segment named after what sets it apart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
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
from analytics.quality.cleaning import CleaningLog, Clip, Deduplicate, clean
from analytics.reports.scope import (
    SEG,
    C,
    F,
    ReportFilters,
    conversations_in,
    has_filters,
    scope,
)
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


# The statistic a profile shows (and a name's claim is checked on) per feature: the median for
# counts and money, the mean for shares and scores, whose medians are often 0 for everyone.
MEAN_FEATURES = ("escalation_share", "avg_sentiment", "csat")
Holds = Callable[[str, int], bool]  # (feature, +1 above / -1 below the average) -> true?


@dataclass(frozen=True)
class SegmentProfile:
    name: str
    customers: int
    median: dict[str, float]  # per feature, in its own unit
    z: dict[str, float]  # centroid in standardised units: how it differs from the average
    typical: dict[str, float] = field(default_factory=dict)  # the shown statistic per feature
    claims: list[dict[str, Any]] = field(default_factory=list)  # what the name says, checked


def typical_values(frame: pd.DataFrame) -> dict[str, float]:
    """Each feature's median (counts, money) or mean (shares, scores), as profiles show it."""
    return {f: round(float(frame[f].mean() if f in MEAN_FEATURES else frame[f].median()), 3)
            for f in FEATURES}


def claim_holds(typical: dict[str, float], overall: dict[str, float], feature: str,
                direction: int) -> bool:
    """Whether a segment's shown figure is really above (+1) or below (-1) everyone's."""
    difference = typical[feature] - overall[feature]
    return difference > 0 if direction > 0 else difference < 0


# Declared cleaning of the customers the segments learn from (the card says what it changed):
# one row per customer, and values that cannot be (negative spend or orders, ratings outside
# 1-5, sentiment outside -1..1, shares outside 0..1) brought back into range.
CLEANING = (
    Deduplicate(("customer_id",)),
    Clip("orders", lower=0), Clip("spend", lower=0), Clip("contacts", lower=0),
    Clip("recency_days", lower=0), Clip("escalation_share", lower=0, upper=1),
    Clip("avg_sentiment", lower=-1, upper=1), Clip("csat", lower=1, upper=5),
)


def clean_customers(data: pd.DataFrame) -> tuple[pd.DataFrame, CleaningLog]:
    """:data:`CLEANING` applied to :func:`load_customer_features`' rows."""
    data, log = clean(data, CLEANING)
    return data.reset_index(drop=True), log


def load_customer_features(conn: Connection, now: datetime | None = None,
                           filters: ReportFilters | None = None) -> pd.DataFrame:
    """RFM and support history per customer who ordered or talked to support.

    With ``filters``: only the customers with a conversation the filters select, their
    support history from those conversations (orders stay all-time: they are the RFM)."""
    orders = pd.DataFrame(conn.execute(
        select(O.c.customer_id, func.count().label("orders"),
               func.sum(O.c.total).label("spend"), func.max(O.c.created_at).label("last_order"))
        .group_by(O.c.customer_id)).mappings().all(),
        columns=["customer_id", "orders", "spend", "last_order"])
    window = scope(filters or ReportFilters(), now or naive_utc_now())
    support = pd.DataFrame(conn.execute(
        select(C.c.customer_id, func.count().label("contacts"),
               func.sum(case((C.c.escalated, 1), else_=0)).label("escalated"),
               func.sum(F.c.sentiment_sum).label("sentiment_sum"),
               func.sum(F.c.sentiment_n).label("sentiment_n"),
               func.avg(C.c.csat_rating).label("csat"))
        .select_from(window.from_)
        .where(C.c.customer_id.is_not(None), *window.where)
        .group_by(C.c.customer_id)).mappings().all(),
        columns=["customer_id", "contacts", "escalated", "sentiment_sum", "sentiment_n", "csat"])
    data = orders.merge(support, on="customer_id",
                        how="outer" if filters is None else "right")
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


# Each word a name may use, with the claims it makes: (feature, +1 above / -1 below average).
# A word is used only when its centre stands out (z) AND every claim holds on the figures the
# profile shows, so a name never says "many contacts" over a median of 1 like everyone's.
NAME_WORDS: dict[str, tuple[tuple[str, int], ...]] = {
    "High-value": (("spend", 1),),
    "Low-spend": (("spend", -1),),
    "lapsed": (("recency_days", 1),),
    "frequent": (("orders", 1),),
    "recent": (("recency_days", -1),),
    "unhappy": (("avg_sentiment", -1),),
    "low ratings": (("csat", -1),),
    "need support": (("contacts", 1),),
    "often escalated": (("escalation_share", 1),),
    "happy": (("avg_sentiment", 1), ("csat", 1)),
}


def name_claims(z: dict[str, float], holds: Holds | None = None) -> tuple[str, list[str]]:
    """A segment's name from how its centre differs from the average customer (in SDs), and
    the NAME_WORDS it uses. ``holds(feature, direction)`` vetoes a word whose claim the
    segment's own figures contradict (default: every claim holds)."""
    def ok(word: str, condition: bool) -> bool:
        return condition and all((holds or (lambda f, d: True))(f, d) for f, d in NAME_WORDS[word])

    used: list[str] = []
    value = next((w for w, cond in (("High-value", z["spend"] >= 0.5),
                                    ("Low-spend", z["spend"] <= -0.5)) if ok(w, cond)),
                 "Mid-value")
    activity = next((w for w, cond in (("lapsed", z["recency_days"] >= 0.5),
                                       ("frequent", z["orders"] >= 0.5),
                                       ("recent", z["recency_days"] <= -0.5)) if ok(w, cond)),
                    "occasional")
    used += [w for w in (value, activity) if w in NAME_WORDS]
    name = f"{value} {activity} customers"
    mood = next((w for w, cond in (("unhappy", z["avg_sentiment"] <= -0.5),
                                   ("low ratings", z["csat"] <= -0.5),
                                   ("need support", z["contacts"] >= 0.75),
                                   ("often escalated", z["escalation_share"] >= 0.75),
                                   ("happy", z["avg_sentiment"] >= 0.5 and z["csat"] >= 0.25))
                 if ok(w, cond)), None)
    if mood:
        name += f", {mood}"
        used.append(mood)
    return name, used


def name_segment(z: dict[str, float], holds: Holds | None = None) -> str:
    """A segment's name from how its centre differs from the average customer (in SDs)."""
    return name_claims(z, holds)[0]


def fit_segments(engine: Engine, models_dir: Path, *,
                 now: datetime | None = None) -> list[SegmentProfile]:
    """Choose k by silhouette, fit k-means, name the segments, store each customer's."""
    with engine.connect() as conn:
        data = load_customer_features(conn, now)
    data, cleaning = clean_customers(data)
    score, pipeline, labels, profiles = segment(data)
    fitted_at = naive_utc_now()
    _store_assignments(engine, data["customer_id"].tolist(),
                       [profiles[label].name for label in labels], fitted_at)
    save_model(models_dir, "segments",
               {"pipeline": pipeline, "features": list(FEATURES),
                "profiles": [p.__dict__ for p in profiles],
                "overall": typical_values(data)},
               n_rows=len(data), fitted_at=fitted_at,
               metrics={"k": len(profiles), "silhouette": round(float(score), 4),
                        "cleaning": cleaning.to_dict(), "cleaned": cleaning.describe()})
    logger.info("Segmented %d customers into %d segments (silhouette %.3f)", len(data),
                len(profiles), score)
    return profiles


def segment(data: pd.DataFrame) -> tuple[float, Pipeline, np.ndarray, list[SegmentProfile]]:
    """k chosen by silhouette, k-means fitted, segments named: (silhouette, pipeline, each
    customer's label, the profiles by label). Nothing is stored."""
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
    return score, pipeline, labels, _profiles(data, labels, pipeline["kmeans"].cluster_centers_)


_QUALIFIERS = {  # feature -> (words when above average, words when below)
    "contacts": ("many contacts", "few contacts"),
    "escalation_share": ("often escalated", "rarely escalated"),
    "avg_sentiment": ("positive", "negative"),
    "csat": ("high CSAT", "low CSAT"),
    "orders": ("many orders", "few orders"),
    "recency_days": ("long since last order", "ordered lately"),
    "spend": ("big spenders", "small spenders"),
}


def _qualified(base: str, z: dict[str, float], used: set[str],
               holds: Holds) -> tuple[str, tuple[str, int] | None]:
    """``base`` made unique by the feature on which this segment stands out most, among
    those whose shown figure really differs that way; else numbered."""
    for feature in sorted(_QUALIFIERS, key=lambda f: -abs(z[f])):
        direction = 1 if z[feature] >= 0 else -1
        if not holds(feature, direction):
            continue
        name = f"{base} ({_QUALIFIERS[feature][0 if direction > 0 else 1]})"
        if name not in used:
            return name, (feature, direction)
    n = 1
    while f"{base} (group {n})" in used:
        n += 1
    return f"{base} (group {n})", None


def _profiles(data: pd.DataFrame, labels: np.ndarray,
              centers: np.ndarray) -> list[SegmentProfile]:
    overall = typical_values(data)
    zs = [{name: round(float(v), 3) for name, v in zip(FEATURES, center, strict=True)}
          for center in centers]
    typicals = [typical_values(data[labels == label]) for label in range(len(zs))]

    def holds_for(label: int) -> Holds:
        return lambda f, d: claim_holds(typicals[label], overall, f, d)

    named = [name_claims(z, holds_for(label)) for label, z in enumerate(zs)]
    bases = [name for name, _ in named]
    profiles, used = [], set()
    for label, z in enumerate(zs):
        base, words = named[label]
        claims = [{"words": w, "feature": f, "direction": d}
                  for w in words for f, d in NAME_WORDS[w]]
        name = base
        if bases.count(base) > 1:
            # Segments sharing a name are told apart by what distinguishes each of them.
            name, extra = _qualified(base, z, used, holds_for(label))
            if extra is not None:
                words_ = _QUALIFIERS[extra[0]][0 if extra[1] > 0 else 1]
                claims.append({"words": words_, "feature": extra[0], "direction": extra[1]})
        used.add(name)
        members = data[labels == label]
        median = {f: round(float(members[f].median()), 3) for f in FEATURES}
        profiles.append(SegmentProfile(name, int(len(members)), median, z,
                                       typical=typicals[label], claims=claims))
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
                   "escalation_share": "Escalated share (mean)",
                   "avg_sentiment": "Avg sentiment (mean)", "csat": "CSAT (1-5, mean)"}


def profile_columns() -> list[Column]:
    return [Column("segment", "Segment"), Column("customers", "Customers", "int"),
            *[Column(f, _PROFILE_LABELS.get(f, f.replace("_", " ")),
                     "int" if f in ("orders", "contacts", "recency_days") else "float")
              for f in FEATURES]]


def _shown(feature: str, value: float) -> float:
    # Medians of counts are shown whole: "12.00 orders" reads as false precision.
    return round(value) if feature in ("orders", "contacts", "recency_days") else value


def profile_rows(profiles: list[dict[str, Any]],
                 overall: dict[str, float] | None) -> list[dict[str, Any]]:
    """The profile table: each segment's shown figures, biggest first, then all customers."""
    rows = [{"segment": p["name"], "customers": p["customers"],
             **{f: _shown(f, v) for f, v in (p.get("typical") or p["median"]).items()}}
            for p in profiles]
    rows.sort(key=lambda r: -r["customers"])
    if overall:
        rows.append({"segment": "All customers", "customers": sum(p["customers"] for p in profiles),
                     **{f: _shown(f, v) for f, v in overall.items()}})
    return rows


def profiles_report(conn: Connection, filters: ReportFilters, options: Any) -> Report:
    """Each segment's size and typical customer, from the last fit."""
    columns = profile_columns()
    empty = Report("segment-profiles", "Customer segments", columns, [], filters)

    def build(artifact: dict[str, Any], info: ModelInfo) -> Report:
        # Medians of counts are shown whole: "12.00 orders" reads as false precision.
        rows = profile_rows(artifact["profiles"], artifact.get("overall"))
        notes = ["Medians (orders, spend, contacts, days) and means (escalated share, "
                 "sentiment, CSAT) of each segment's members; fitted on all customers "
                 "(all-time)."]
        if has_filters(filters) and not conversations_in(conn, filters, options.at):
            rows, notes = [], ["No conversations match these filters.", *notes]
        return Report("segment-profiles", "Customer segments (typical member)", columns, rows,
                      filters, meta={"fitted_at": info.fitted_at, "n_rows": info.n_rows,
                                     **info.metrics},
                      notes=notes)

    return report_from_model("segments", options, empty, build)
