"""`carebot data quality`: the data-quality checks over the analytics database."""

from __future__ import annotations

import json
import sys

import click

from bot.config import Config


@click.command("quality")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="How to print it.")
@click.option("--fail-on-problems", is_flag=True,
              help="Exit with code 1 when any check finds something (for CI or cron).")
@click.pass_context
def quality_command(ctx: click.Context, fmt: str, fail_on_problems: bool) -> None:
    """Check the analytics database ($CAREBOT_DATABASE_URL): duplicate customers (normalised
    emails and names), missing values per column, impossible values (negative totals, orders
    before the customer existed, ratings outside 1-5...), orphan rows, conversations with no
    messages and stale rollups, each with a count and examples."""
    from analytics.quality.report import quality_report
    from analytics.reports.scope import ReportFilters
    from analytics.reports.types import ReportOptions
    from analytics.store.db import make_engine, migrate
    from bot.cli.analytics import render_table

    config = ctx.find_object(Config) or Config.from_env()
    migrate(config.database_url)
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            result = quality_report(conn, ReportFilters(), ReportOptions())
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(render_table(result), nl=False)
        click.echo(f"{result.meta['problems']} problem rows in {len(result.rows)} checks "
                   f"({result.meta['database']}).")
    if fail_on_problems and result.rows:
        sys.exit(1)
