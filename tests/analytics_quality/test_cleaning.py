"""Declared cleaning rules say what they changed (analytics/quality/cleaning.py)."""

from __future__ import annotations

import pandas as pd

from analytics.quality.cleaning import Clip, Deduplicate, DropMissing, Impute, clean


def test_each_rule_reports_how_many_rows_it_touched():
    frame = pd.DataFrame({"email": ["a@x.com", " A@X.com", "b@x.com", "c@x.com"],
                          "total": [10.0, 12.0, -5.0, None], "age": [30, 31, None, 40]})
    out, log = clean(frame, (Deduplicate(("email",)), DropMissing(("age",)),
                             Impute("total", "median"), Clip("total", lower=0.0)))
    assert [s["rows"] for s in log.steps] == [1, 1, 1, 0]
    assert (log.rows_in, log.rows_out) == (4, 2) and list(out["total"]) == [10.0, 10.0]
    assert "deduplicate email: 1" in log.describe()


def test_quantile_clipping_tames_outliers():
    frame = pd.DataFrame({"x": [1.0] * 98 + [50.0, 1000.0]})
    out, log = clean(frame, (Clip("x", upper_quantile=0.98),))
    assert out["x"].max() < 1000 and log.steps[0]["rows"] >= 1
