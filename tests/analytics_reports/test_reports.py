"""Sentiment, intent, escalation and conversation reports against known_data.py by hand."""

from __future__ import annotations

from datetime import date

import pytest
from known_data import NOW

from analytics.reports.registry import ReportOptions, run_report
from analytics.reports.scope import ReportFilters

AT_NOW = ReportOptions(now=NOW)


def rows_by(report, key: str) -> dict:
    return {row[key]: row for row in report.rows}


def test_outcomes_split_every_conversation_once(engine):
    rows = rows_by(run_report(engine, "outcomes", None, AT_NOW), "outcome")
    assert {k: r["conversations"] for k, r in rows.items()} == {
        "contained": 2, "escalated": 2, "abandoned": 1, "in_progress": 1}
    assert rows["escalated"]["csat_average"] == 1.5  # ratings 2 and 1


def test_sentiment_by_day_buckets_conversations_by_the_day_they_started(engine):
    report = run_report(engine, "sentiment-over-time", None, AT_NOW)
    rows = rows_by(report, "period")
    assert list(rows) == [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 9),
                          date(2026, 11, 10)]
    # 11-02 holds c1 (0, 0.1, 0.8) and c2 (-0.9, -0.7): five messages summing to -0.7.
    assert rows[date(2026, 11, 2)]["conversations"] == 2
    assert rows[date(2026, 11, 2)]["avg_sentiment"] == pytest.approx(-0.7 / 5, abs=1e-4)
    assert rows[date(2026, 11, 3)]["ended_more_negative"] == 1.0  # c3 fell from 0 to -0.5


def test_sentiment_by_week_starts_weeks_on_monday(engine):
    report = run_report(engine, "sentiment-over-time", None, ReportOptions(period="week", now=NOW))
    rows = rows_by(report, "period")
    assert {k: r["conversations"] for k, r in rows.items()} == {
        date(2026, 11, 2): 3, date(2026, 11, 9): 3}
    # week of 11-09: c4 (-0.2, -0.6), c5 (0.3), c6 (0.5, 0.6) -> 0.6 over 5 messages
    assert rows[date(2026, 11, 9)]["avg_sentiment"] == pytest.approx(0.12, abs=1e-4)


def test_sentiment_by_channel(engine):
    rows = rows_by(run_report(engine, "sentiment-by-channel", None, AT_NOW), "channel")
    assert rows["rest"]["conversations"] == 2
    # rest: c3 (0, -0.5) and c6 (0.5, 0.6) -> 0.6 / 4
    assert rows["rest"]["avg_sentiment"] == pytest.approx(0.15, abs=1e-4)
    assert rows["websocket"]["escalation_rate"] == 0.5  # c2 and c4 of c1, c2, c4, c5


def test_sentiment_by_segment_puts_signed_out_visitors_in_anonymous(engine):
    rows = rows_by(run_report(engine, "sentiment-by-segment", None, AT_NOW), "segment")
    assert {k: r["conversations"] for k, r in rows.items()} == {
        "anonymous": 2, "loyal": 2, "new": 2}
    assert rows["loyal"]["csat_average"] == 3.0  # 5 and 1
    assert rows["new"]["csat_score"] == 0.5  # 2 and 4


def test_intent_distribution_counts_customer_messages_and_conversations(engine):
    report = run_report(engine, "intents", None, AT_NOW)
    rows = rows_by(report, "intent")
    assert sum(r["messages"] for r in report.rows) == 12
    assert (rows["order_status"]["messages"], rows["order_status"]["conversations"]) == (2, 2)
    assert rows["return_item"]["messages"] == 2 and rows["return_item"]["conversations"] == 1
    assert rows["return_item"]["message_share"] == pytest.approx(2 / 12, abs=1e-4)
    assert rows["return_item"]["avg_sentiment"] == pytest.approx(-0.4, abs=1e-4)
    assert rows["order_status"]["csat_average"] == 5.0  # c1 rated 5, c3 unrated


def test_worst_intents_rank_by_lost_sentiment_and_quote_the_customer(engine):
    report = run_report(engine, "worst-intents", None,
                        ReportOptions(min_conversations=1, limit=3, now=NOW))
    assert [r["intent"] for r in report.rows] == ["complaint", "human_agent", "return_item"]
    assert report.rows[0]["example"] == "this is the worst service ever"


def test_lost_sentiment_is_volume_times_the_gap_below_the_average_with_ratings_beside_it(engine):
    report = run_report(engine, "worst-intents", None,
                        ReportOptions(min_conversations=1, limit=10, now=NOW))
    overall = report.meta["overall_sentiment"]
    for r in report.rows:
        gap = max(overall - r["avg_sentiment"], 0.0)
        assert r["lost_sentiment"] == pytest.approx(r["conversations"] * gap, abs=1e-3)
        assert isinstance(r["rated"], int)
    lost = [r["lost_sentiment"] for r in report.rows]
    assert lost == sorted(lost, reverse=True)


def test_worst_intents_ignore_rare_intents_and_small_talk(engine):
    report = run_report(engine, "worst-intents", None, ReportOptions(min_conversations=2,
                                                                     now=NOW))
    assert {r["intent"] for r in report.rows} == {"order_status"}  # greet is in 2 as well


def test_voices_are_the_customers_redacted_words_most_negative_first(engine):
    report = run_report(engine, "voices", ReportFilters(intent="return_item"), AT_NOW)
    assert [r["text"] for r in report.rows] == ["the shoes I sent back three weeks ago!!",
                                                "I want to return the shoes"]
    assert all(r["intent"] == "return_item" for r in report.rows)


def test_voices_never_include_bot_or_agent_messages(engine):
    report = run_report(engine, "voices", None, ReportOptions(limit=100, now=NOW))
    assert len(report.rows) == 12


def test_escalations_by_reason_with_agent_times(engine):
    rows = rows_by(run_report(engine, "escalations", None, AT_NOW), "reason")
    assert rows["complaint"]["first_response_median"] == 180
    assert rows["complaint"]["handle_time_median"] == 660
    assert rows["negative_sentiment"]["first_response_median"] == 900
    assert rows["negative_sentiment"]["resolved"] == 0


def test_conversations_list_newest_first_with_outcome_and_rating(engine):
    report = run_report(engine, "conversations", None, AT_NOW)
    assert [r["conversation_id"] for r in report.rows] == ["c5", "c6", "c4", "c3", "c2", "c1"]
    c3 = rows_by(report, "conversation_id")["c3"]
    assert (c3["outcome"], c3["primary_intent"], c3["csat"]) == ("abandoned", "order_status",
                                                                 None)


def test_every_report_serialises_to_json(engine):
    import json

    from analytics.reports.registry import REPORTS

    for name in REPORTS:
        json.dumps(run_report(engine, name, None, AT_NOW).to_dict())
