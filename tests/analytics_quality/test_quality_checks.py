"""The data-quality report finds every injected defect, on SQLite and PostgreSQL."""

from __future__ import annotations

from analytics.quality.checks import normalise_email, normalise_name, run_checks
from analytics.reports.registry import run_report
from analytics.store.records import naive_utc_now


def findings(shop) -> dict:
    with shop.engine.connect() as conn:
        return {(f.check, f.subject): f for f in run_checks(conn, naive_utc_now())}


def test_the_clean_demo_shop_and_its_planted_customers_pass_every_check(shop):
    assert shop.baseline == []


def test_every_injected_defect_is_found_by_its_check_with_the_rows_it_concerns(shop):
    found = findings(shop)
    assert shop.manifest.skipped == []
    for key, ids in shop.manifest.defects.items():
        assert key in found, f"{key} not reported"
        assert set(found[key].ids) == ids, key
        assert found[key].count == len(ids)


def test_nothing_is_reported_that_was_not_injected(shop):
    assert set(findings(shop)) == set(shop.manifest.defects)


def test_all_six_kinds_of_defect_are_covered(shop):
    assert {check for check, _ in shop.manifest.defects} == {
        "duplicate_customers", "missing_values", "impossible_values", "orphan_rows",
        "empty_conversations", "stale_rollups"}
    assert shop.manifest.total >= 30


def test_the_report_gives_counts_and_examples_and_says_what_to_do(shop):
    report = run_report(shop.engine, "data-quality")
    assert report.meta["problems"] == shop.manifest.total
    negative = next(r for r in report.rows if r["subject"] == "orders.total < 0")
    assert negative["count"] == 3 and negative["examples"].count("A") == 3
    assert all(row["advice"] for row in report.rows)


def test_emails_and_names_are_compared_as_a_person_would():
    assert normalise_email("  Ana.Lee+shop@Example.COM ") == "ana.lee@example.com"
    assert normalise_name("  JOSÉ   o'Brien ") == normalise_name("Jose O Brien")
