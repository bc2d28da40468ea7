"""Each customer-service metric, computed by hand from known_data.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from known_data import NOW

from analytics.reports.registry import ReportOptions, run_report
from analytics.reports.scope import ReportFilters

AT_NOW = ReportOptions(now=NOW)


def metric(engine, name: str, filters: ReportFilters | None = None):
    report = run_report(engine, "metrics", filters, AT_NOW)
    return {row["metric"]: row for row in report.rows}[name]


def test_only_conversations_with_a_customer_message_count(engine):
    assert metric(engine, "conversations")["value"] == 6  # c7 has only a bot greeting


def test_containment_is_the_share_resolved_by_the_bot_alone(engine):
    row = metric(engine, "containment_rate")
    assert row["value"] == pytest.approx(2 / 6, abs=1e-4)  # c1, c6
    assert row["n"] == 6


def test_escalation_rate_is_the_share_handed_to_a_person(engine):
    assert metric(engine, "escalation_rate")["value"] == pytest.approx(2 / 6, abs=1e-4)


def test_abandonment_is_the_share_left_waiting_on_the_customer(engine):
    assert metric(engine, "abandonment_rate")["value"] == pytest.approx(1 / 6, abs=1e-4)  # c3


def test_a_conversation_active_within_the_idle_timeout_is_in_progress(engine):
    assert metric(engine, "in_progress")["value"] == pytest.approx(1 / 6, abs=1e-4)  # c5


def test_fallback_rate_is_misunderstood_customer_messages_over_all_of_them(engine):
    row = metric(engine, "fallback_rate")
    assert (row["value"], row["n"]) == (pytest.approx(1 / 12, abs=1e-4), 12)


def test_csat_is_the_share_of_ratings_of_four_or_five(engine):
    row = metric(engine, "csat_score")
    assert (row["value"], row["n"]) == (0.5, 4)  # 5 and 4 out of 5, 2, 1, 4


def test_average_rating_is_the_mean_of_the_ratings_given(engine):
    assert metric(engine, "csat_average")["value"] == 3.0


def test_csat_response_rate_is_ratings_over_finished_conversations(engine):
    row = metric(engine, "csat_response_rate")
    assert (row["value"], row["n"]) == (0.8, 5)


def test_average_sentiment_is_the_mean_polarity_of_customer_messages(engine):
    assert metric(engine, "avg_sentiment")["value"] == pytest.approx(-0.6 / 12, abs=1e-4)


def test_negative_share_counts_customer_messages_labelled_negative(engine):
    assert metric(engine, "negative_share")["value"] == pytest.approx(5 / 12, abs=1e-4)


def test_ending_more_negative_needs_a_drop_of_the_threshold_between_first_and_last(engine):
    row = metric(engine, "ended_more_negative")
    assert (row["value"], row["n"]) == (0.4, 5)  # c3 and c4, of the 5 with two or more


def test_first_response_time_runs_from_handoff_to_the_agents_first_message(engine):
    assert metric(engine, "first_response_median")["value"] == 540  # 180 s and 900 s
    assert metric(engine, "first_response_mean")["value"] == 540


def test_handle_time_runs_from_the_agent_taking_it_to_resolution(engine):
    row = metric(engine, "handle_time_median")
    assert (row["value"], row["n"]) == (660, 1)  # c4 is not resolved yet


def test_an_empty_database_reports_no_rates_rather_than_failing(empty_engine):
    report = run_report(empty_engine, "metrics", None, AT_NOW)
    values = {row["metric"]: row["value"] for row in report.rows}
    assert values["conversations"] == 0
    assert values["containment_rate"] is None and values["csat_score"] is None
