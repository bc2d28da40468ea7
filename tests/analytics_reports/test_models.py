"""Satisfaction, segmentation and journey models, fitted on synthetic history with known
structure (ratings depend on sentiment, resolution, fallbacks and waiting)."""

from __future__ import annotations

from datetime import datetime

import pytest
from report_databases import DATABASES, migrated_engine
from sqlalchemy import func, select, update

from analytics.demo.seed import seed
from analytics.demo.synthetic import generate, insert_history
from analytics.insights.journey import Journey, journey_of
from analytics.insights.model_store import load_model, model_infos
from analytics.insights.retrain import retrain
from analytics.insights.satisfaction import NotEnoughRatings, fit_satisfaction
from analytics.insights.segments import name_segment
from analytics.reports.registry import ReportOptions, run_report
from analytics.store.schema import Conversation, CsatPrediction, Customer, CustomerSegment

NOW = datetime(2026, 11, 2)


@pytest.fixture(scope="module", params=DATABASES)
def fitted(request, tmp_path_factory):
    """1,500 synthetic conversations of the demo shop's customers, with models retrained."""
    directory = tmp_path_factory.mktemp("fitted")
    with migrated_engine(request.param, directory) as engine:
        seed(engine, progress=False)
        with engine.connect() as conn:
            customers = list(conn.execute(select(Customer.id)).scalars())
        for block in generate(1500, customer_ids=customers, seed=3):
            insert_history(engine, block)
        summary = retrain(engine, directory / "models", progress=False, now=NOW)
        yield engine, directory / "models", summary


def options(models_dir, **kwargs) -> ReportOptions:
    return ReportOptions(models_dir=models_dir, now=NOW, **kwargs)


def test_both_satisfaction_models_report_cross_validated_r2_and_mae(fitted):
    _, _, summary = fitted
    sat = summary.satisfaction
    assert sat.n_rated > 300
    assert sat.linear_r2 > 0.3 and sat.boosted_r2 > 0.3
    assert 0 < sat.linear_mae < 1.0 and 0 < sat.boosted_mae < 1.0


def test_drivers_have_confidence_intervals_around_their_coefficients(fitted):
    _, models_dir, _ = fitted
    report = run_report(fitted[0], "satisfaction-drivers", None, options(models_dir))
    drivers = {row["feature"]: row for row in report.rows}
    for row in report.rows:
        assert row["ci_low"] <= row["coefficient"] <= row["ci_high"]
    # the history was generated with CSAT rising with the last message's sentiment
    assert drivers["sentiment_last"]["ci_low"] > 0
    assert report.meta["n_rows"] == fitted[2].satisfaction.n_rated


def test_every_unrated_conversation_gets_a_prediction_between_1_and_5(fitted):
    engine, _, summary = fitted
    with engine.connect() as conn:
        unrated = conn.execute(select(func.count()).select_from(Conversation)
                               .where(Conversation.csat_rating.is_(None))).scalar_one()
        low, high, n = conn.execute(select(func.min(CsatPrediction.predicted_csat),
                                           func.max(CsatPrediction.predicted_csat),
                                           func.count())).one()
    assert n == unrated == summary.satisfaction.n_predicted
    assert 1 <= low <= high <= 5


def test_predicted_csat_is_marked_as_predicted(fitted):
    engine, models_dir, _ = fitted
    report = run_report(engine, "conversations", None, options(models_dir, limit=200))
    for row in report.rows:
        assert row["csat"] is not None
        assert row["csat_predicted"] == (not float(row["csat"]).is_integer()
                                         or row["csat_predicted"])
    assert any(row["csat_predicted"] for row in report.rows)
    assert any(not row["csat_predicted"] for row in report.rows)


def test_model_cards_say_when_and_on_how_much_data_they_were_fitted(fitted):
    _, models_dir, summary = fitted
    infos = model_infos(models_dir)
    assert infos["satisfaction"].n_rows == summary.satisfaction.n_rated
    assert infos["segments"].n_rows > 0 and infos["journey"].n_rows > 0
    assert all(info.fitted_at.year >= 2026 for info in infos.values())
    model, _ = load_model(models_dir, "satisfaction")
    assert model["chosen"] in ("linear", "boosted")


def test_every_customer_with_history_is_in_a_named_segment(fitted):
    engine, models_dir, summary = fitted
    with engine.connect() as conn:
        names = set(conn.execute(select(CustomerSegment.segment).distinct()).scalars())
        assigned = conn.execute(select(func.count()).select_from(CustomerSegment)).scalar_one()
    assert 3 <= len(names) <= 6
    assert names == {p.name for p in summary.segments}
    assert assigned == sum(p.customers for p in summary.segments)
    assert all("customers" in name for name in names)


def test_segments_are_reported_with_their_sentiment_and_csat(fitted):
    engine, models_dir, summary = fitted
    report = run_report(engine, "customer-segments", None, options(models_dir))
    assert {row["segment"] for row in report.rows} <= {p.name for p in summary.segments}
    assert all(row["avg_sentiment"] is not None for row in report.rows)
    assert sum(row["rated"] for row in report.rows) > 0


def test_segment_names_describe_how_the_centre_differs_from_the_average():
    z = {"recency_days": 1.2, "orders": -0.3, "spend": 0.9, "contacts": 0.0,
         "escalation_share": 0.0, "avg_sentiment": -0.8, "csat": 0.0}
    assert name_segment(z) == "High-value lapsed customers, unhappy"


def test_journey_follows_stages_and_measures_the_sentiment_change_between_them():
    journey = journey_of([
        ("a", "product_recommendation", 0.5),
        ("a", "payment_issue", -0.5),
        ("a", "greet", 0.0),  # no stage: stays in purchase
        ("a", "order_status", 0.1),
        ("b", "order_status", -0.2),
    ])
    transitions = {(r["from_stage"], r["to_stage"]): r for r in journey.transition_rows()}
    assert transitions[("pre-purchase", "purchase")]["sentiment_change"] == -1.0
    assert transitions[("purchase", "delivery")]["sentiment_change"] == pytest.approx(0.1)
    assert transitions[("start", "delivery")]["conversations"] == 1
    assert transitions[("delivery", "end")]["conversations"] == 2
    assert journey.conversations == 2


def test_small_talk_alone_is_no_journey():
    journey = Journey()
    journey.add_conversation([("greet", 0.2), ("goodbye", 0.3)])
    assert journey.conversations == 0 and journey.transition_rows() == []


def test_journey_report_reads_the_fitted_journey(fitted):
    engine, models_dir, summary = fitted
    report = run_report(engine, "journey", None, options(models_dir))
    assert report.meta["n_rows"] == summary.journey_conversations
    starts = sum(r["conversations"] for r in report.rows if r["from_stage"] == "start")
    assert starts == summary.journey_conversations


def test_satisfaction_model_refuses_too_few_ratings_and_says_what_to_do(empty_engine, tmp_path):
    for block in generate(40, seed=1):
        insert_history(empty_engine, block)
    with empty_engine.begin() as conn:
        conn.execute(update(Conversation).values(csat_rating=None))
    with pytest.raises(NotEnoughRatings, match="carebot simulate"):
        fit_satisfaction(empty_engine, tmp_path)


def test_retrain_skips_what_lacks_data_and_still_fits_the_rest(empty_engine, tmp_path):
    for block in generate(60, seed=2):
        insert_history(empty_engine, block)
    summary = retrain(empty_engine, tmp_path, progress=False)
    assert "segments" in summary.skipped  # no customers at all
    assert summary.journey_conversations > 0


@pytest.mark.parametrize("name", ["satisfaction-drivers", "segment-profiles", "journey"])
@pytest.mark.parametrize("models", ["never fitted", "no models directory"])
def test_a_model_report_before_the_first_fit_is_empty_and_says_how_to_fit(
    empty_engine, tmp_path, name, models
):
    models_dir = tmp_path / "models" if models == "never fitted" else None

    report = run_report(empty_engine, name, None, options(models_dir))

    assert report.rows == [] and report.columns
    assert any("carebot analytics retrain" in note for note in report.notes)


def test_a_useful_drivers_model_is_drawn_with_its_quality_and_a_verdict(fitted):
    engine, models_dir, summary = fitted
    report = run_report(engine, "satisfaction-drivers", None, options(models_dir))
    quality = report.meta["quality"]
    assert quality["usable"] is True and report.rows
    assert quality["cv_r2"] == pytest.approx(summary.satisfaction.linear_r2)
    assert quality["n"] == summary.satisfaction.n_rated and quality["mae"] > 0
    assert "explains" in report.notes[0]
    drivers = {row["feature"]: row for row in report.rows}
    last = drivers["sentiment_last"]
    assert last["ci_low_sd"] <= last["effect_per_sd"] <= last["ci_high_sd"]
    assert last["significant"] is True


def test_a_drivers_model_with_ratings_that_are_noise_is_not_drawn(empty_engine, tmp_path):
    import random

    for block in generate(700, seed=5):
        insert_history(empty_engine, block)
    rng = random.Random(0)
    with empty_engine.begin() as conn:
        ids = list(conn.execute(select(Conversation.id)).scalars())
        for cid in ids:  # ratings unrelated to anything the model sees
            conn.execute(update(Conversation).where(Conversation.id == cid)
                         .values(csat_rating=rng.randint(1, 5)))
    fit = fit_satisfaction(empty_engine, tmp_path, now=NOW)

    report = run_report(empty_engine, "satisfaction-drivers", None, options(tmp_path))

    assert fit.linear_r2 <= 0.1
    assert report.rows == [] and report.meta["quality"]["usable"] is False
    assert "Not useful" in report.notes[0] and "R²" in report.notes[0]


def test_too_few_ratings_for_the_drivers_says_how_many_more_are_needed():
    from analytics.insights.satisfaction import judge_model

    quality = judge_model({"linear": {"r2": 0.6, "mae": 0.5}}, 50)
    assert not quality.usable and "Collect 80 more ratings" in quality.verdict


@pytest.mark.parametrize("name", ["journey", "satisfaction-drivers", "segment-profiles",
                                  "customer-segments"])
def test_model_reports_are_empty_under_a_date_range_without_conversations(fitted, name):
    from datetime import date

    from analytics.reports.scope import ReportFilters

    engine, models_dir, _ = fitted
    later = ReportFilters(date_from=date(2027, 1, 1), date_to=date(2027, 12, 31))

    report = run_report(engine, name, later, options(models_dir))

    assert report.rows == []
    if name != "customer-segments":
        assert any("No conversations" in note for note in report.notes)


def test_the_journey_under_a_date_filter_counts_only_the_conversations_in_it(fitted):
    from analytics.reports.scope import ReportFilters

    engine, models_dir, summary = fitted
    with engine.connect() as conn:
        days = sorted({d.date() for d in conn.execute(select(Conversation.started_at)).scalars()})
    first_half = ReportFilters(date_to=days[len(days) // 2])

    report = run_report(engine, "journey", first_half, options(models_dir))

    starts = sum(r["conversations"] for r in report.rows if r["from_stage"] == "start")
    assert report.meta["filtered"] is True
    assert 0 < report.meta["n_rows"] < summary.journey_conversations
    assert starts == report.meta["n_rows"]


def test_segment_profiles_show_spend_in_dollars_and_counts_as_whole_numbers(fitted):
    engine, models_dir, _ = fitted
    report = run_report(engine, "segment-profiles", None, options(models_dir))
    kinds = {c.name: (c.label, c.kind) for c in report.columns}
    assert kinds["spend"] == ("Spend ($)", "float") and kinds["orders"][1] == "int"
    assert all(isinstance(row["orders"], int) for row in report.rows)


def test_the_drivers_and_segments_cards_say_what_was_cleaned(fitted):
    engine, models_dir, _ = fitted
    drivers = run_report(engine, "satisfaction-drivers", None, options(models_dir))
    profiles = run_report(engine, "segment-profiles", None, options(models_dir))
    for report in (drivers, profiles):
        steps = report.meta["cleaning"]["steps"]
        assert steps and all("rows" in step for step in steps)
        assert report.meta["cleaned"].startswith(f"{report.meta['cleaning']['rows_in']} rows in")


def test_impossible_and_duplicated_training_rows_are_cleaned_and_counted():
    import pandas as pd

    from analytics.insights.satisfaction import clean_features
    from analytics.insights.segments import clean_customers

    rows = pd.DataFrame({"conversation_id": ["a", "b", "b", "c"], "csat_rating": [9, 4, 4, None],
                         "wait_minutes": [-5.0, 1.0, 1.0, 2.0], "handle_minutes": [1.0] * 4,
                         "turns": [3.0] * 4, "spend_before_100": [1.0] * 4})
    cleaned, log = clean_features(rows)
    assert list(cleaned["conversation_id"]) == ["a", "b", "c"]
    assert cleaned["csat_rating"].iloc[0] == 5 and cleaned["wait_minutes"].min() >= 0
    counted = {(s["rule"], s.get("column")): s["rows"] for s in log.steps}
    assert counted[("deduplicate", None)] == 1 and counted[("clip", "csat_rating")] == 1
    assert log.rows_in == 4 and log.rows_out == 3

    customers = pd.DataFrame({"customer_id": [1, 2], "recency_days": [3.0, 4.0],
                              "orders": [-1.0, 2.0], "spend": [10.0, -4.0], "contacts": [1.0, 1.0],
                              "escalation_share": [0.0, 1.5], "avg_sentiment": [0.2, 0.1],
                              "csat": [4.0, 0.0]})
    cleaned, log = clean_customers(customers)
    assert cleaned["orders"].min() == 0 and cleaned["spend"].min() == 0
    assert cleaned["escalation_share"].max() == 1 and cleaned["csat"].min() == 1
    assert sum(s["rows"] for s in log.steps) == 4
