"""What to fix first, the previous-period comparison of every KPI, the redacted transcript
behind every conversation id, and labels in words — computed by hand from known_data.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from dashboard_app import PASSWORD, add_users, dashboard_app
from known_data import NOW
from sqlalchemy import insert

from analytics.reports.labels import label
from analytics.reports.registry import ReportOptions, previous_period, run_report
from analytics.reports.scope import ReportError, ReportFilters
from analytics.store.rollups import rebuild_facts
from analytics.store.schema import Conversation, Message

ONE = ReportOptions(now=NOW, min_conversations=1)


def test_intents_are_ranked_by_conversations_times_their_gap_below_the_average(engine):
    report = run_report(engine, "fix-first", None, ONE)
    # Average sentiment of all customer messages: (0.9 - 1.6 - 0.5 - 0.8 + 0.3 + 1.1) / 12.
    assert report.meta["measure"] == "sentiment" and report.meta["average"] == -0.05
    ranked = [(r["intent"], r["lost"]) for r in report.rows]
    assert ranked == [("complaint", 0.85), ("human_agent", 0.65), ("nlu_fallback", 0.45),
                      ("return_item", 0.35)]
    assert [r["rank"] for r in report.rows] == [1, 2, 3, 4]
    assert sum(r["share_of_lost"] for r in report.rows) == pytest.approx(1.0, abs=1e-3)
    # only 4 ratings in the data: the report says it ranked by sentiment, and why
    assert any("only 4 ratings" in note for note in report.notes)


def test_each_item_links_to_its_unhappiest_conversations_with_a_quote(engine):
    rows = {r["intent"]: r for r in run_report(engine, "fix-first", None, ONE).rows}
    assert rows["complaint"]["examples"] == [
        {"conversation_id": "c2", "quote": "this is the worst service ever", "sentiment": -0.9}]
    assert rows["return_item"]["examples"][0]["quote"] == "the shoes I sent back three weeks ago!!"
    assert rows["return_item"]["example_ids"] == "c4"


def test_intents_above_the_average_or_rarer_than_the_minimum_are_not_listed(engine):
    intents = {r["intent"] for r in run_report(engine, "fix-first", None, ONE).rows}
    assert not intents & {"order_status", "shipping_info", "greet", "thank_you"}
    assert run_report(engine, "fix-first", None, ReportOptions(now=NOW)).rows == []  # n >= 5


def test_fix_first_follows_the_filters(engine):
    report = run_report(engine, "fix-first", ReportFilters(channel="rest"), ONE)
    # rest: c3 (0.0, -0.5) and c6 (0.5, 0.6): average 0.15; c3's two intents fall below it
    assert [(r["intent"], r["lost"]) for r in report.rows] == [("nlu_fallback", 0.65),
                                                               ("order_status", 0.15)]
    empty = run_report(engine, "fix-first", ReportFilters(date_from=date(2027, 1, 1)), ONE)
    assert empty.rows == [] and empty.meta["conversations"] == 0


def test_csat_ranking_needs_enough_ratings_per_intent(engine):
    report = run_report(engine, "fix-first", None, ReportOptions(now=NOW, min_conversations=1,
                                                                 measure="csat"))
    assert report.meta["measure"] == "csat" and report.rows == []  # no intent has 5 ratings
    with pytest.raises(ReportError, match="measure"):
        ReportOptions(measure="happiness")


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    before = previous_period(ReportFilters(date_from=date(2026, 11, 3), date_to=date(2026, 11, 4),
                                           channel="rest"))
    assert (before.date_from, before.date_to, before.channel) == (
        date(2026, 11, 1), date(2026, 11, 2), "rest")
    assert previous_period(ReportFilters(date_from=date(2026, 11, 3))) is None


def test_every_kpi_carries_its_previous_period_value_and_n(engine):
    filters = ReportFilters(date_from=date(2026, 11, 3), date_to=date(2026, 11, 4))
    report = run_report(engine, "metrics", filters, ReportOptions(now=NOW))
    rows = {r["metric"]: r for r in report.rows}
    assert rows["conversations"]["value"] == 1 and rows["conversations"]["previous"] == 2
    assert rows["conversations"]["change"] == -1
    assert rows["csat_average"]["value"] is None
    assert (rows["csat_average"]["previous"], rows["csat_average"]["previous_n"]) == (3.5, 2)
    assert rows["csat_average"]["change"] is None  # nothing to compare with
    assert rows["escalation_rate"]["previous"] == 0.5 and rows["escalation_rate"]["change"] == -0.5
    assert report.meta["previous"] == {"from": date(2026, 11, 1), "to": date(2026, 11, 2)}
    assert all("previous" in r for r in report.rows)


def test_without_a_date_range_the_kpis_say_how_to_compare(engine):
    report = run_report(engine, "metrics", None, ReportOptions(now=NOW))
    assert report.meta["previous"] is None and "previous" not in report.rows[0]
    assert any("Set both dates" in note for note in report.notes)


def test_labels_are_words():
    assert label("nlu_fallback") == "Not understood"
    assert label("spend_before_100") == "Spend before (per $100)"
    assert label("order_status") == "Order status"
    assert label("in_progress") == "Still in progress"


# -- the transcript API --------------------------------------------------------------------


async def _client(engine, tmp_path) -> TestClient:
    return TestClient(TestServer(dashboard_app(engine, add_users(engine), tmp_path / "models")))


async def _log_in(client: TestClient, username: str) -> None:
    response = await client.post("/auth/login", json={"username": username,
                                                      "password": PASSWORD})
    assert response.status == 200


async def test_the_transcript_shows_the_redacted_text_never_the_raw(empty_engine, tmp_path):
    started = datetime(2026, 11, 5, 9)
    with empty_engine.begin() as conn:
        conn.execute(insert(Conversation), [{
            "id": "c-pii", "channel": "websocket", "customer_id": None, "status": "bot",
            "started_at": started, "last_active_at": started, "ended_at": started,
            "turns": 1, "fallback_count": 0, "escalated": False, "assigned_agent_id": None,
            "csat_rating": 2, "csat_comment": "call me on 555-0100", "tracker_state": {}}])
        conn.execute(insert(Message), [
            {"id": str(uuid.uuid4()), "conversation_id": "c-pii", "sender": "user",
             "text": "my email is [EMAIL]", "raw_text": "my email is ada@example.com",
             "intent": "inform", "confidence": 0.42, "entities": [], "sentiment_label": "neutral",
             "sentiment_score": 0.0, "data": {}, "created_at": started},
            {"id": str(uuid.uuid4()), "conversation_id": "c-pii", "sender": "bot",
             "text": "Thanks!", "raw_text": None, "intent": None, "confidence": None, "entities": [],
             "sentiment_label": None, "sentiment_score": None, "data": {},
             "created_at": datetime(2026, 11, 5, 9, 0, 1)}])
    rebuild_facts(empty_engine, progress=False)
    async with await _client(empty_engine, tmp_path) as client:
        await _log_in(client, "ana")
        response = await client.get("/api/analytics/conversations/c-pii")
        assert response.status == 200
        text = await response.text()
        body = await response.json()
    assert "ada@example.com" not in text and "555-0100" not in text
    assert [m["text"] for m in body["messages"]] == ["my email is [EMAIL]", "Thanks!"]
    assert body["messages"][0]["confidence"] == 0.42
    assert body["conversation"]["csat_rating"] == 2
    assert body["conversation"]["outcome"] == "contained"


async def test_an_unknown_conversation_is_a_404_and_agents_are_refused(empty_engine, tmp_path):
    async with await _client(empty_engine, tmp_path) as client:
        await _log_in(client, "ana")
        missing = await client.get("/api/analytics/conversations/nope")
        assert missing.status == 404 and "nope" in (await missing.json())["error"]
        await _log_in(client, "al")
        assert (await client.get("/api/analytics/conversations/nope")).status == 403


async def test_the_report_list_carries_labels_in_words(engine, tmp_path):
    async with await _client(engine, tmp_path) as client:
        await _log_in(client, "ana")
        body = await (await client.get("/api/reports")).json()
    assert body["labels"]["nlu_fallback"] == "Not understood"
    assert body["labels"]["return_item"] == "Return item"
    assert body["labels"]["anonymous"] == "Not signed in"
