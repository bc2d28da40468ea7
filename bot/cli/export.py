"""`carebot export`: the redacted analytics store as files a warehouse reads (docs/export.md)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.config import Config


@click.command("export")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["parquet"]), default="parquet",
              show_default=True, help="File format (Parquet is the one there is).")
@click.option("--full", is_flag=True,
              help="Forget what earlier exports into DIR wrote and write everything again "
                   "(also to replace another database's export).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
@click.pass_obj
def export_command(config: Config, directory: Path, fmt: str, full: bool,
                   no_progress: bool) -> None:
    """Write the analytics store to DIR as date-partitioned Parquet, for Spark, DuckDB or a
    warehouse to read as it is.

    \b
    Tables: conversations, messages, events, escalations, ratings, each as
      DIR/<table>/date=YYYY-MM-DD/part-*.parquet (Hive-style; times are UTC).

    Only the redacted columns analytics reads are written: never the customer's raw or
    encrypted words, the dialogue tracker, CSAT comments or the shop's customer data.

    Incremental: DIR/_carebot_export.json remembers what was written, so running it again
    writes only new messages and events, and rewrites only the days whose conversations,
    escalations or ratings changed. Run it from cron as often as you like. Example:

    \b
      carebot export --format parquet /data/carebot
      duckdb -c "SELECT count(*) FROM read_parquet('/data/carebot/messages/*/*.parquet',
                 hive_partitioning=true)"
    """
    from analytics.export import ExportError, export_parquet
    from analytics.store.db import make_engine, migrate

    migrate(config.database_url)
    engine = make_engine(config.database_url)
    try:
        summary = export_parquet(engine, directory, full=full, progress=not no_progress)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    for t in summary.tables:
        note = f", {t.partitions_replaced} rewritten" if t.partitions_replaced else ""
        note += f", {t.partitions_dropped} removed" if t.partitions_dropped else ""
        click.echo(f"{t.name:<14} {t.rows_written:>9,} rows written to "
                   f"{t.partitions_written} of {t.partitions} days{note}; "
                   f"{t.rows:,} rows in all")
    rate = summary.rows_written / summary.seconds if summary.seconds else 0.0
    click.echo(f"Export {summary.run} into {summary.directory}: {summary.rows_written:,} rows "
               f"in {summary.seconds:.2f} s ({rate:,.0f} rows/s).")
