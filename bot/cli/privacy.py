"""`carebot privacy purge` and `carebot privacy forget CUSTOMER`: erase the customers' own
words (the redacted text analysts read stays)."""

from __future__ import annotations

from datetime import timedelta

import click

from bot.config import Config


@click.group("privacy")
def privacy_group() -> None:
    """Erase customers' raw words: past the retention, or for one customer on request."""


@privacy_group.command("purge")
@click.option("--days", type=int, default=None,
              help="Erase raw text older than this many days [default: carebot.yml "
                   "privacy.raw_text_retention_days, 30].")
@click.pass_obj
def purge(config: Config, days: int | None) -> None:
    """Erase raw text (and the words in idle conversations' trackers) past the retention."""
    from analytics.store.db import make_engine, migrate
    from analytics.store.privacy import purge_raw_text
    from analytics.store.records import naive_utc_now

    days = config.raw_text_retention_days if days is None else days
    if days < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--days")
    migrate(config.database_url)
    result = purge_raw_text(make_engine(config.database_url),
                            naive_utc_now() - timedelta(days=days))
    click.echo(f"Erased the raw text of {result.messages} messages and the customer's words in "
               f"{result.conversations} conversation trackers older than {days} days.")


@privacy_group.command("forget")
@click.argument("customer")
@click.pass_obj
def forget(config: Config, customer: str) -> None:
    """Erase CUSTOMER's raw text and the links from their conversations to their profile
    (CUSTOMER: the shop's customer id, e.g. C1001, or their email)."""
    from analytics.store.db import make_engine, migrate
    from analytics.store.privacy import forget_customer

    migrate(config.database_url)
    try:
        result = forget_customer(make_engine(config.database_url), customer)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Forgot customer {result.customer}: {result.conversations} conversations "
               f"unlinked, the raw text of {result.messages} messages erased. A server that is "
               "running may still hold a conversation it is in the middle of.")
