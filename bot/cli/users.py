"""`carebot users password NAME` and `carebot users remove NAME`: both end the user's
sessions at once; `carebot users display-name NAME [TEXT]` (`users add` is in
bot/cli/main.py)."""

from __future__ import annotations

import click

from bot.config import Config


def _store(config: Config):
    from analytics.store.db import make_engine, migrate
    from analytics.store.reads import ConversationStore

    migrate(config.database_url)
    return ConversationStore(make_engine(config.database_url))


@click.command("password")
@click.argument("name")
@click.password_option(envvar="CAREBOT_PASSWORD",
                       help="The new password (asked for when not given; or CAREBOT_PASSWORD).")
@click.pass_obj
def users_password(config: Config, name: str, password: str) -> None:
    """Give user NAME a new password; every session they have ends."""
    try:
        user = _store(config).set_password(name, password)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"New password for '{user.username}'; their sessions are ended.")


@click.command("remove")
@click.argument("name")
@click.pass_obj
def users_remove(config: Config, name: str) -> None:
    """Remove user NAME; every session they have ends."""
    try:
        deleted = _store(config).remove_user(name)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    if deleted:
        click.echo(f"Removed '{name}'; their sessions are ended.")
    else:
        click.echo(f"'{name}' handled conversations, so the reports keep their name; they can "
                   "no longer log in and their sessions are ended.")


@click.command("display-name")
@click.argument("name")
@click.argument("display_name", required=False, default="")
@click.pass_obj
def users_display_name(config: Config, name: str, display_name: str) -> None:
    """Set the name customers see for agent NAME (none given: the username again)."""
    from analytics.store.db import make_engine, migrate
    from analytics.store.inbox import set_display_name

    migrate(config.database_url)
    if not set_display_name(make_engine(config.database_url), name, display_name.strip()):
        raise click.ClickException(f"there is no user '{name}'; add one with `carebot users add`")
    shown = display_name.strip() or name
    click.echo(f"Customers now see '{name}' as '{shown}'.")
