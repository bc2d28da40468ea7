"""The drivers and segment models fitted on the conversations a dashboard's filters select,
from the page: nothing is stored, the saved all-time fits stay as they are.

The drivers get the same judgement as the saved model (cross-validated R², MAE, n, verdict);
a window with too few ratings says so instead of drawing noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import KFold, cross_validate
from sqlalchemy import Engine
from threadpoolctl import threadpool_limits

from analytics.insights.satisfaction import (
    CV_FOLDS,
    FEATURES,
    MIN_RATED,
    _models,
    clean_features,
    cleaning_card,
    driver_columns,
    judge_model,
    linear_drivers,
    load_features,
)
from analytics.insights.segments import (
    NotEnoughCustomers,
    clean_customers,
    load_customer_features,
    profile_columns,
    profile_rows,
    segment,
    typical_values,
)
from analytics.reports.scope import ReportFilters
from analytics.reports.types import Report, ReportOptions


def refit_drivers(engine: Engine, filters: ReportFilters, options: ReportOptions) -> Report:
    """The linear drivers model cross-validated and fitted on the filtered rated conversations."""
    with engine.connect() as conn:
        data = load_features(conn, options.at, filters)
    data, cleaning = clean_features(data)
    rated = data[data["csat_rating"].notna()]
    n = len(rated)
    linear: dict[str, Any] = {}
    features = list(FEATURES)
    if n >= MIN_RATED:
        X, y = rated[features], rated["csat_rating"].to_numpy(dtype=float)
        folds = KFold(n_splits=min(CV_FOLDS, n), shuffle=True, random_state=0)
        with threadpool_limits(limits=1):
            cv = cross_validate(_models()["linear"], X, y, cv=folds,
                                scoring=("r2", "neg_mean_absolute_error"))
        linear = {"r2": float(np.mean(cv["test_r2"])),
                  "mae": float(-np.mean(cv["test_neg_mean_absolute_error"]))}
    quality = judge_model({"linear": linear}, n)
    rows = linear_drivers(rated[features], rated["csat_rating"].to_numpy(dtype=float)) \
        if quality.usable else []
    notes = [quality.verdict,
             f"Linear regression on standardised features, fitted on the {n} rated of the "
             f"{len(data)} conversations these filters select (not saved)."]
    if not quality.usable:
        notes.append("Widen the filters to include more rated conversations.")
    columns = driver_columns()
    return Report("satisfaction-drivers", "What drives CSAT (fitted on these filters)", columns,
                  rows, filters, notes=notes,
                  meta={"refit": True, "n_rows": n, "conversations": len(data),
                        "linear": linear, "quality": quality.to_dict(),
                        **cleaning_card(cleaning)})


def refit_segments(engine: Engine, filters: ReportFilters, options: ReportOptions) -> Report:
    """k-means segments of the customers with a conversation the filters select."""
    with engine.connect() as conn:
        data = load_customer_features(conn, options.at, filters)
    data, cleaning = clean_customers(data)
    columns = profile_columns()
    meta: dict[str, Any] = {"refit": True, "n_rows": len(data), "k": 0,
                            "cleaning": cleaning.to_dict(), "cleaned": cleaning.describe()}
    try:
        score, _, _, profiles = segment(data)
    except NotEnoughCustomers as exc:
        return Report("segment-profiles", "Customer segments (fitted on these filters)",
                      columns, [], filters, meta=meta,
                      notes=[str(exc), "Widen the filters to include more customers."])
    meta.update(k=len(profiles), silhouette=round(float(score), 4))
    return Report("segment-profiles", "Customer segments (fitted on these filters)", columns,
                  profile_rows([p.__dict__ for p in profiles], typical_values(data)), filters,
                  meta=meta,
                  notes=[f"k-means on the {len(data)} customers with a conversation in these "
                         "filters; their support history from those conversations, orders "
                         "all-time (not saved)."])


def refit_on_filters(engine: Engine, filters: ReportFilters,
                     options: ReportOptions) -> dict[str, Any]:
    """Both refits, JSON-ready, for the dashboard."""
    return {"drivers": refit_drivers(engine, filters, options).to_dict(),
            "profiles": refit_segments(engine, filters, options).to_dict()}
