"""Filters select the right conversations and reach the database only as parameters."""

from __future__ import annotations

from datetime import date

import pytest
from known_data import NOW

from analytics.reports.registry import REPORTS, ReportOptions, run_report
from analytics.reports.scope import ReportError, ReportFilters

AT_NOW = ReportOptions(now=NOW)


def conversations(engine, **filters) -> int:
    report = run_report(engine, "metrics", ReportFilters(**filters), AT_NOW)
    return report.rows[0]["value"]


def test_date_range_is_inclusive_on_the_day_the_conversation_started(engine):
    assert conversations(engine, date_from=date(2026, 11, 9), date_to=date(2026, 11, 9)) == 2


def test_intent_filter_keeps_conversations_where_the_customer_expressed_it(engine):
    assert conversations(engine, intent="order_status") == 2  # c1 and c3


def test_channel_filter(engine):
    assert conversations(engine, channel="rest") == 2  # c3 and c6; c7 has no customer message


def test_segment_filter_uses_the_shop_segment(engine):
    assert conversations(engine, segment="loyal") == 2  # c1 and c4


def test_visitors_who_did_not_sign_in_are_the_anonymous_segment(engine):
    assert conversations(engine, segment="anonymous") == 2  # c3 and c5


def test_outcome_filter(engine):
    assert conversations(engine, outcome="escalated") == 2
    assert conversations(engine, outcome="abandoned") == 1


def test_filters_combine(engine):
    assert conversations(engine, channel="websocket", outcome="escalated", segment="loyal") == 1


@pytest.mark.parametrize("field", ["intent", "channel", "segment"])
def test_sql_in_a_filter_value_matches_nothing_and_breaks_nothing(engine, field):
    hostile = "x' OR 1=1 --"
    for name, spec in REPORTS.items():
        report = run_report(engine, name, ReportFilters(**{field: hostile}), AT_NOW)
        if not spec.filtered:
            continue  # judges the whole database (risk, data quality): still ran, still safe
        if name == "metrics":
            assert report.rows[0]["value"] == 0
        elif name not in ("satisfaction-drivers", "journey"):
            assert report.rows == [], name
    assert conversations(engine) == 6  # the tables are still there


def test_an_unknown_outcome_is_refused_with_the_valid_ones():
    with pytest.raises(ReportError, match="contained, escalated, abandoned, in_progress"):
        ReportFilters(outcome="happy")


def test_query_parameters_become_filters_and_back():
    filters = ReportFilters.from_query({"from": "2026-11-01", "to": "2026-11-30",
                                        "intent": "complaint", "channel": ""})
    assert filters == ReportFilters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30),
                                    intent="complaint")
    assert ReportFilters.from_query(filters.to_query()) == filters


def test_a_malformed_date_says_what_a_date_looks_like():
    with pytest.raises(ReportError, match="2026-11-01"):
        ReportFilters.from_query({"from": "last tuesday"})
