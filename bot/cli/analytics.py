"""`carebot report`, `carebot analytics ...` and `carebot simulate`.

Register on the main group with ``add_analytics_commands(main)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.config import Config

MESSAGE_LOG = "messages"
_TEXT_WIDTH = 60


def _report_names() -> list[str]:
    from analytics.reports.registry import REPORTS

    return [*REPORTS, MESSAGE_LOG]


@click.command()
@click.argument("name", type=click.Choice(_report_names()), metavar="NAME")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="How to print it.")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]),
              help="First day (UTC) of conversations to include.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day (UTC), inclusive.")
@click.option("--intent", help="Only conversations where the customer expressed this intent.")
@click.option("--channel", help="Only this channel (websocket, rest, ...).")
@click.option("--segment", help="Only this customer segment ('anonymous' for signed-out).")
@click.option("--outcome", type=click.Choice(["contained", "escalated", "abandoned",
                                              "in_progress"]),
              help="Only conversations that ended this way.")
@click.option("--period", type=click.Choice(["day", "week"]), default="day", show_default=True,
              help="sentiment-over-time: bucket size.")
@click.option("--limit", type=int, default=50, show_default=True,
              help="Rows of list reports (voices, conversations, worst-intents).")
@click.option("--min-conversations", type=int, default=5, show_default=True,
              help="worst-intents: ignore intents seen in fewer conversations.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of the terminal.")
@click.pass_obj
def report(config: Config, name: str, fmt: str, date_from, date_to, intent, channel, segment,
           outcome, period, limit, min_conversations, output: Path | None) -> None:
    """Print the report NAME (or the redacted message log: `messages`).

    Reports: metrics, outcomes, sentiment-over-time, sentiment-by-channel,
    sentiment-by-segment, intents, worst-intents, voices, escalations, conversations,
    customer-segments, segment-profiles, satisfaction-drivers, journey. Metric definitions
    are in docs/metrics.md.
    """
    from analytics.reports.export import message_log_csv, report_csv
    from analytics.reports.registry import ReportOptions, run_report
    from analytics.reports.scope import ReportError, ReportFilters
    from analytics.store.db import make_engine, migrate

    try:
        filters = ReportFilters(
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            intent=intent, channel=channel, segment=segment, outcome=outcome)
        options = ReportOptions(period=period, limit=limit, min_conversations=min_conversations,
                                models_dir=config.models_dir)
    except ReportError as exc:
        raise click.UsageError(str(exc)) from exc
    migrate(config.database_url)
    engine = make_engine(config.database_url)
    out = output.open("wb") if output else sys.stdout.buffer
    try:
        if name == MESSAGE_LOG:
            if fmt == "table":
                raise click.UsageError("The message log prints as csv or json.")
            if fmt == "csv":
                for chunk in message_log_csv(engine, filters, options):
                    out.write(chunk)
            else:
                _json_lines(out, engine, filters, options)
            return
        result = run_report(engine, name, filters, options)
        if fmt == "json":
            out.write(json.dumps(result.to_dict(), indent=2).encode() + b"\n")
        elif fmt == "csv":
            for chunk in report_csv(result):
                out.write(chunk)
        else:
            out.write(render_table(result).encode())
    finally:
        if output:
            out.close()
            click.echo(f"Wrote {name} to {output}", err=True)
        engine.dispose()


def _json_lines(out, engine, filters, options) -> None:
    from analytics.reports.export import iter_message_log
    from analytics.reports.types import jsonable

    for row in iter_message_log(engine, filters, options):
        out.write(json.dumps({k: jsonable(v) for k, v in row.items()}).encode() + b"\n")


def render_table(result: Any) -> str:
    """A report as an aligned text table, with its notes underneath."""
    from analytics.reports.types import format_value

    columns = result.columns
    cells = [[_clip(format_value(row.get(c.name), c.kind)) for c in columns]
             for row in result.rows]
    headers = [c.label for c in columns]
    if result.name == "metrics":  # name, value and the count it is out of
        headers = ["Metric", "Value", "Out of"]
        cells = [[row["label"], format_value(row["value"], row["kind"]),
                  "" if row["n"] is None else str(row["n"])] for row in result.rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    lines = [result.title, ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    if not cells:
        lines.append("(no rows for these filters)")
    if result.filters.to_query():
        lines.append("")
        lines.append("Filters: " + ", ".join(f"{k}={v}" for k, v in
                                             result.filters.to_query().items()))
    for note in result.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines) + "\n"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 1] + "…"


@click.group()
def analytics() -> None:
    """Analytics models and rollups."""


@analytics.command()
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.pass_obj
def retrain(config: Config, no_progress: bool) -> None:
    """Refit the satisfaction, segmentation and journey models from the database.

    Models are saved under CAREBOT_MODELS_DIR/analytics with when they were fitted and on
    how many rows; unrated conversations get a predicted CSAT.
    """
    from analytics.insights.retrain import retrain as retrain_models
    from analytics.store.db import make_engine, migrate

    migrate(config.database_url)
    engine = make_engine(config.database_url)
    try:
        summary = retrain_models(engine, config.models_dir, progress=not no_progress)
    finally:
        engine.dispose()
    sat = summary.satisfaction
    if sat is not None:
        click.echo(f"Satisfaction: {sat.n_rated} rated conversations; cross-validated "
                   f"linear R² {sat.linear_r2:.3f} (MAE {sat.linear_mae:.3f}), gradient "
                   f"boosting R² {sat.boosted_r2:.3f} (MAE {sat.boosted_mae:.3f}); "
                   f"{sat.n_predicted} unrated conversations predicted with the {sat.chosen} "
                   "model.")
    if summary.segments:
        click.echo("Segments: " + "; ".join(f"{p.name} ({p.customers})"
                                            for p in summary.segments))
    click.echo(f"Journey: {summary.journey_conversations} conversations.")
    if summary.risk is not None:
        click.echo(f"Risk: {summary.risk.customers} customers, {summary.risk.flagged} flagged.")
    for name, reason in summary.skipped.items():
        click.echo(f"Skipped {name}: {reason}", err=True)


@analytics.command("rebuild-facts")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.pass_obj
def rebuild_facts(config: Config, no_progress: bool) -> None:
    """Recompute the per-conversation rollups the reports read (after an import or upgrade)."""
    from analytics.store.db import make_engine, migrate
    from analytics.store.rollups import rebuild_facts as rebuild

    migrate(config.database_url)
    engine = make_engine(config.database_url)
    try:
        count = rebuild(engine, progress=not no_progress)
    finally:
        engine.dispose()
    click.echo(f"Rebuilt the rollups of {count} conversations.")


@click.command()
@click.option("--conversations", "count", type=click.IntRange(1, 100_000), default=200,
              show_default=True, help="How many customer conversations to simulate.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Conversations in flight at once.")
@click.option("--days", type=click.IntRange(0, 365), default=30, show_default=True,
              help="Spread the conversations over this many past days (0: keep them now).")
@click.option("--seed", type=int, default=None, help="Random seed, for a repeatable run.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.pass_obj
def simulate(config: Config, count: int, concurrency: int, days: int, seed: int | None,
             no_progress: bool) -> None:
    """Drive the real bot over its WebSocket with simulated customers (and agents).

    Customers have personas, moods and goals, phrase things their own way, answer the bot's
    questions, sometimes give up, and rate the conversation at the end, so a fresh install
    has a dashboard worth looking at. Needs trained models (`carebot train`).
    """
    import asyncio

    from bot.app import create_app
    from bot.simulate.runner import SimulationError, run_simulation

    try:
        result = asyncio.run(run_simulation(config, count, create_app=create_app,
                                            concurrency=concurrency, days=days,
                                            seed=seed, progress=not no_progress))
    except SimulationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.describe())


def add_analytics_commands(group: click.Group) -> None:
    """Add `report`, `analytics` and `simulate` to the `carebot` command group."""
    group.add_command(report)
    group.add_command(analytics)
    group.add_command(simulate)


__all__ = ["add_analytics_commands", "analytics", "report", "simulate", "render_table"]
