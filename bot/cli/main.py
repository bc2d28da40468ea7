"""The `carebot` command line."""

from __future__ import annotations

import logging
import sys

import click

from bot.config import Config, use_offline_models

logger = logging.getLogger("carebot")


# Errors a user can cause and mend: shown as one line (what, where, what to do), no
# traceback unless --debug.
def _user_errors() -> tuple[type[BaseException], ...]:
    from bot.config import SettingsError
    from bot.dialogue.assistant import ModelsMissing
    from bot.dialogue.policies.base import PolicyConfigError
    from nlp.components import PipelineError
    from nlp.finetune import FinetunedGraphError
    from nlp.pipeline import NLUNotTrainedError
    from nlp.yamlfile import BotFileError

    return (BotFileError, SettingsError, ModelsMissing, PolicyConfigError, PipelineError,
            NLUNotTrainedError, FinetunedGraphError)


class CarebotGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except Exception as exc:
            if ctx.meta.get("carebot.debug") or not isinstance(exc, _user_errors()):
                raise
            raise click.ClickException(str(exc)) from None


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(cls=CarebotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="How much the command tells about what it does.")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def main(ctx: click.Context, log_level: str, debug: bool) -> None:
    """Carebot: a self-hosted, Rasa-compatible customer-service bot.

    Run it in a Rasa 3.x project (config.yml, domain.yml, data/, actions/), as you would
    `rasa`: carebot init, train, test, shell, serve, data validate, run actions.

    Configuration comes from the environment: CAREBOT_PROJECT_DIR (the Rasa project;
    default: the current directory), CAREBOT_DATABASE_URL (default: SQLite file carebot.db
    in the project), CAREBOT_MODELS_DIR (default: ./models), CAREBOT_BASE_MODELS_DIR (the
    models every project shares), CAREBOT_REDIS_URL (optional, several server processes),
    CAREBOT_WIDGET_SECRET (HMAC secret for verified customer ids); Carebot's own settings
    (handoff, escalation, widget origins) are in carebot.yml.
    """
    ctx.meta["carebot.debug"] = debug
    use_offline_models()
    _setup_logging(log_level)
    ctx.obj = Config.from_env()


@main.command()
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", default=None, type=int, help="Port to listen on [default: 8080].")
@click.option("--workers", default=None, type=click.IntRange(1, 256),
              help="Server processes on the port [default: the machine's cores]; 1 serves in "
                   "this process.")
@click.pass_obj
def serve(config: Config, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the chat page, widget, REST/WebSocket channels and the API."""
    from aiohttp import web

    from bot.app import create_app
    from bot.config import limit_malloc_arenas
    from bot.workers import default_workers, serve_workers

    config = config.with_overrides(host=host, port=port)
    workers = workers or default_workers()
    if workers > 1:
        sys.exit(serve_workers(config, workers, log_level=logging.getLogger().level))
    limit_malloc_arenas()
    logger.info("serving on http://%s:%d", config.host, config.port)
    web.run_app(create_app(config), host=config.host, port=config.port, print=None,
                access_log=None)


@main.command("demo-data")
@click.option("--seed", "seed_value", default=7, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True,
              help="Only seed a database without orders (keeps an existing shop and its links).")
@click.option("--abusers", type=click.IntRange(0, 100), default=0, show_default=True,
              help="Also plant this many known abusive customers (customer-risk evaluation).")
@click.option("--dirty", is_flag=True,
              help="Also inject a known amount of bad data (for `carebot data quality`).")
@click.pass_obj
def demo_data(config: Config, seed_value: int, if_empty: bool, abusers: int,
              dirty: bool) -> None:
    """(Re)seed the demo shop: customers, products and orders, the same every time."""
    from analytics.demo.seed import example_records, seed
    from analytics.store.db import make_engine, migrate

    migrate(config.database_url)
    engine = make_engine(config.database_url)
    if if_empty:
        seed_if_empty(engine, progress=True)
    else:
        click.echo(f"Seeded: {seed(engine, seed=seed_value)}")
    _plant_and_dirty(engine, seed_value, abusers, dirty)
    click.echo("Try these (email, order number, status):")
    for record in example_records(engine):
        click.echo(f"  {record['email']:<40} {record['order_number']:<8} {record['status']}")


def _plant_and_dirty(engine, seed_value: int, abusers: int, dirty: bool) -> None:
    if abusers:
        from analytics.demo.abuse import plant_abusers

        planted = plant_abusers(engine, seed=seed_value, count=abusers)
        click.echo("Planted abusive customers: " + ", ".join(f"{p.external_id} ({p.pattern})"
                                                             for p in planted))
    if dirty:
        from analytics.demo.dirt import inject_dirt

        manifest = inject_dirt(engine, seed=seed_value)
        click.echo(f"Injected {manifest.total} defects (`carebot data quality` finds them):")
        for (check, subject), ids in sorted(manifest.defects.items()):
            click.echo(f"  {check}: {subject}: {len(ids)}")
        for note in manifest.skipped:
            click.echo(f"  skipped {note}")


@main.group()
def users() -> None:
    """Manage the people who log into the agent console and the analytics dashboard."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "analyst", "admin"]), required=True,
              help="agent: console; analyst: dashboard and reports; admin: both.")
@click.option("--display-name", default=None,
              help="The name customers see for an agent (default: the username).")
@click.password_option(envvar="CAREBOT_PASSWORD",
                       help="Password (asked for when not given; or set CAREBOT_PASSWORD).")
@click.pass_obj
def users_add(config: Config, name: str, role: str, password: str,
              display_name: str | None) -> None:
    """Add a user NAME with a role; the password is stored as a bcrypt hash."""
    from analytics.store.db import make_engine, migrate
    from analytics.store.reads import ConversationStore, UserExistsError

    migrate(config.database_url)
    try:
        user = ConversationStore(make_engine(config.database_url)).add_user(name, password, role)
    except (UserExistsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if display_name and display_name.strip():
        from analytics.store.inbox import set_display_name

        set_display_name(make_engine(config.database_url), user.username, display_name.strip())
    click.echo(f"Added {user.role} '{user.username}' (id {user.id}).")


from bot.cli.actions_server import run_group  # noqa: E402
from bot.cli.analytics import add_analytics_commands  # noqa: E402
from bot.cli.dialogue import seed_if_empty, shell, test, train  # noqa: E402
from bot.cli.export import export_command  # noqa: E402
from bot.cli.nlu import nlu_group, sentiment_group  # noqa: E402
from bot.cli.nlu_inbox import inbox_group  # noqa: E402
from bot.cli.privacy import privacy_group  # noqa: E402
from bot.cli.project import data_group, init_command  # noqa: E402
from bot.cli.users import users_display_name, users_password, users_remove  # noqa: E402

main.add_command(train)
main.add_command(test)
main.add_command(shell)
main.add_command(shell, "chat")  # Carebot 0.1's name for `shell`
main.add_command(nlu_group)
nlu_group.add_command(inbox_group)  # nlu inbox
main.add_command(run_group)  # run actions
main.add_command(sentiment_group)
main.add_command(data_group)  # data validate
main.add_command(init_command)
main.add_command(privacy_group)  # privacy purge / forget
users.add_command(users_password)
users.add_command(users_remove)
users.add_command(users_display_name)
add_analytics_commands(main)  # report, analytics retrain / rebuild-facts, simulate
main.add_command(export_command)  # export --format parquet DIR

if __name__ == "__main__":
    sys.exit(main())
