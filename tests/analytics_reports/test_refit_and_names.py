"""Segment names claim only what their numbers show, and the drivers and segments can be
refitted on the filtered window from the page (nothing saved), with n and the verdict."""

from __future__ import annotations

import re
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from aiohttp.test_utils import TestClient, TestServer
from dashboard_app import PASSWORD, add_users, dashboard_app
from report_databases import DATABASES, migrated_engine
from sqlalchemy import select

from analytics.demo.seed import seed
from analytics.demo.synthetic import generate, insert_history
from analytics.insights.model_store import load_model, model_infos
from analytics.insights.refit import refit_drivers, refit_segments
from analytics.insights.retrain import retrain
from analytics.insights.segments import (
    _QUALIFIERS,
    FEATURES,
    NAME_WORDS,
    _profiles,
    claim_holds,
    name_claims,
)
from analytics.reports.registry import ReportOptions, run_report
from analytics.reports.scope import ReportFilters
from analytics.store.schema import Conversation, Customer

NOW = datetime(2026, 11, 2)


@pytest.fixture(scope="module", params=DATABASES)
def fitted(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp("refit")
    with migrated_engine(request.param, directory) as engine:
        seed(engine, progress=False)
        with engine.connect() as conn:
            customers = list(conn.execute(select(Customer.id)).scalars())
        for block in generate(1500, customer_ids=customers, seed=5):
            insert_history(engine, block)
        retrain(engine, directory / "models", progress=False, now=NOW)
        yield engine, directory / "models"


def _says(name: str, words: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(words)}(?![\w-])", name) is not None


def _check_names_match_numbers(profiles, overall) -> None:
    vocabulary = [*NAME_WORDS, *(w for pair in _QUALIFIERS.values() for w in pair)]
    for p in profiles:
        claimed = {c["words"] for c in p["claims"]}
        for claim in p["claims"]:
            assert claim_holds(p["typical"], overall, claim["feature"], claim["direction"]), (
                p["name"], claim, p["typical"][claim["feature"]], overall[claim["feature"]])
        for words in vocabulary:
            if _says(p["name"], words):
                assert words in claimed, (p["name"], words)


def test_each_fitted_segment_name_claims_only_what_its_figures_show(fitted):
    _, models_dir = fitted
    model, _ = load_model(models_dir, "segments")
    assert model["profiles"] and any(p["claims"] for p in model["profiles"])
    _check_names_match_numbers(model["profiles"], model["overall"])


def test_the_profile_table_shows_the_figures_the_names_were_checked_on(fitted):
    engine, models_dir = fitted
    report = run_report(engine, "segment-profiles", None,
                        ReportOptions(models_dir=models_dir, now=NOW))
    model, _ = load_model(models_dir, "segments")
    rows = {r["segment"]: r for r in report.rows}
    assert rows["All customers"]["customers"] == sum(p["customers"] for p in model["profiles"])
    for p in model["profiles"]:
        assert rows[p["name"]]["avg_sentiment"] == p["typical"]["avg_sentiment"]
        assert rows[p["name"]]["contacts"] == round(p["typical"]["contacts"])


def _frame(contacts: list[float], escalation: list[float]) -> pd.DataFrame:
    n = len(contacts)
    base = {"recency_days": 10.0, "orders": 1.0, "spend": 50.0, "avg_sentiment": 0.0, "csat": 4.0}
    return pd.DataFrame({f: contacts if f == "contacts" else escalation
                         if f == "escalation_share" else [base[f]] * n for f in FEATURES})


def _centres(rows: list[dict[str, float]]) -> np.ndarray:
    return np.array([[row.get(f, 0.0) for f in FEATURES] for row in rows])


def test_a_segment_is_not_called_needy_when_its_typical_member_has_as_many_contacts_as_anyone():
    data = _frame([1, 1, 5, 1, 1, 1], [0.5, 0.5, 0.5, 0, 0, 0])
    labels = np.array([0, 0, 0, 1, 1, 1])
    # the centre says "many contacts" (z 2.0), but the median member has 1 contact, like all
    profiles = _profiles(data, labels, _centres([{"contacts": 2.0, "escalation_share": 1.0},
                                                 {"contacts": -0.5, "escalation_share": -1.0}]))
    assert [p.name for p in profiles] == ["Mid-value occasional customers, often escalated",
                                          "Mid-value occasional customers"]
    _check_names_match_numbers([p.__dict__ for p in profiles],
                               {f: float(np.median(data[f])) if f not in (
                                   "escalation_share", "avg_sentiment", "csat")
                                else float(data[f].mean()) for f in FEATURES})


def test_alike_segments_are_numbered_rather_than_given_a_qualifier_their_figures_deny():
    data = _frame([1, 1, 5, 1, 1, 1], [0.0] * 6)
    labels = np.array([0, 0, 0, 1, 1, 1])
    profiles = _profiles(data, labels, _centres([{"contacts": 2.0}, {"contacts": -0.5}]))
    names = [p.name for p in profiles]
    assert not any("contacts" in name for name in names)
    assert names == ["Mid-value occasional customers (group 1)",
                     "Mid-value occasional customers (group 2)"]


def test_a_word_whose_claim_fails_is_left_out_of_the_name():
    z = {"recency_days": 1.2, "orders": 0.0, "spend": 0.9, "contacts": 0.0,
         "escalation_share": 0.0, "avg_sentiment": -0.8, "csat": 0.0}
    assert name_claims(z)[0] == "High-value lapsed customers, unhappy"
    vetoed = name_claims(z, holds=lambda feature, direction: feature != "spend")
    assert vetoed == ("Mid-value lapsed customers, unhappy", ["lapsed", "unhappy"])


# -- refitting on the filtered window -----------------------------------------------------


def _days(engine) -> list[date]:
    with engine.connect() as conn:
        return sorted({d.date() for d in conn.execute(select(Conversation.started_at)).scalars()})


def test_drivers_refit_on_a_window_use_only_its_rated_conversations(fitted):
    engine, models_dir = fitted
    days = _days(engine)
    half = ReportFilters(date_to=days[len(days) // 2])
    everything = refit_drivers(engine, ReportFilters(), ReportOptions(now=NOW))
    window = refit_drivers(engine, half, ReportOptions(now=NOW))
    stored = model_infos(models_dir)["satisfaction"]
    assert everything.meta["n_rows"] == stored.n_rows  # same rated conversations as retrain
    assert 0 < window.meta["n_rows"] < everything.meta["n_rows"]
    assert window.meta["quality"]["n"] == window.meta["n_rows"]
    assert window.meta["quality"]["verdict"]
    assert "fitted on these filters" in window.title


def test_a_window_with_few_ratings_gets_the_verdict_not_drivers(fitted):
    engine, _ = fitted
    days = _days(engine)
    one_day = ReportFilters(date_from=days[-1], date_to=days[-1])
    report = refit_drivers(engine, one_day, ReportOptions(now=NOW))
    assert report.rows == []
    assert report.meta["quality"]["usable"] is False
    assert report.notes[0].startswith("Not enough ratings")


def test_segments_refit_on_a_channel_cover_only_its_customers(fitted):
    engine, _ = fitted
    with engine.connect() as conn:
        channel = conn.execute(select(Conversation.channel).limit(1)).scalar_one()
        customers = set(conn.execute(select(Conversation.customer_id)
                                     .where(Conversation.channel == channel,
                                            Conversation.customer_id.is_not(None))).scalars())
    report = refit_segments(engine, ReportFilters(channel=channel), ReportOptions(now=NOW))
    assert 0 < report.meta["n_rows"] <= len(customers)
    assert report.rows[-1]["segment"] == "All customers"
    assert report.rows[-1]["customers"] == report.meta["n_rows"]
    empty = refit_segments(engine, ReportFilters(date_from=date(2031, 1, 1)),
                           ReportOptions(now=NOW))
    assert empty.rows == [] and "segmentation needs" in empty.notes[0]


async def test_the_refit_api_is_for_analysts_and_saves_nothing(fitted, tmp_path):
    engine, models_dir = fitted
    before = {n: (i.fitted_at if i else None) for n, i in model_infos(models_dir).items()}
    app = dashboard_app(engine, add_users(engine), models_dir)
    async with TestClient(TestServer(app)) as client:
        assert (await client.post("/api/models/refit")).status == 401
        await client.post("/auth/login", json={"username": "ana", "password": PASSWORD})
        response = await client.post("/api/models/refit", params={"outcome": "escalated"})
        assert response.status == 200, await response.text()
        body = await response.json()
        refused = await client.post("/api/models/refit",
                                    headers={"Origin": "https://evil.example"})
        assert refused.status == 403
        bad = await client.post("/api/models/refit", params={"from": "soon"})
        assert bad.status == 400
    assert body["drivers"]["meta"]["refit"] is True
    assert body["drivers"]["filters"] == {"outcome": "escalated"}
    assert body["drivers"]["meta"]["quality"]["n"] == body["drivers"]["meta"]["n_rows"]
    assert body["profiles"]["meta"]["refit"] is True
    after = {n: (i.fitted_at if i else None) for n, i in model_infos(models_dir).items()}
    assert after == before
