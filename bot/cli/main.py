"""The `carebot` command line."""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import click

from bot.config import Config, use_offline_models

logger = logging.getLogger("carebot")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="How much the command tells about what it does.")
@click.pass_context
def main(ctx: click.Context, log_level: str) -> None:
    """Carebot: a self-hosted, Rasa-compatible customer-service bot.

    Configuration comes from the environment: CAREBOT_DATABASE_URL (default: SQLite file
    carebot.db in the project directory), CAREBOT_MODELS_DIR (default: ./models),
    CAREBOT_REDIS_URL (optional, for several server processes), CAREBOT_WIDGET_SECRET
    (HMAC secret for verified customer ids) and CAREBOT_PROJECT_DIR (where domain.yml and
    data/ live; default: the current directory).
    """
    use_offline_models()
    _setup_logging(log_level)
    ctx.obj = Config.from_env()


@main.command()
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", default=None, type=int, help="Port to listen on [default: 8080].")
@click.pass_obj
def serve(config: Config, host: str | None, port: int | None) -> None:
    """Serve the chat page, widget, REST/WebSocket channels and the API."""
    from aiohttp import web

    from bot.app import create_app

    config = config.with_overrides(host=host, port=port)
    logger.info("serving on http://%s:%d", config.host, config.port)
    web.run_app(create_app(config), host=config.host, port=config.port, print=None,
                access_log=None)


@main.command()
@click.option("--retrain-sentiment", is_flag=True,
              help="Also retrain the sentiment model (it does not depend on data/nlu.yml).")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.pass_obj
def train(config: Config, retrain_sentiment: bool, no_progress: bool) -> None:
    """Train the NLU (intents, entities, sentiment) and the product recommender.

    Models are written to CAREBOT_MODELS_DIR (default ./models). The recommender learns
    from the orders in the database; an empty database is seeded with the demo shop first.
    """
    from analytics.insights.recommender import train_recommender
    from analytics.store.db import make_engine, migrate
    from nlp.train import train as train_nlu

    started = time.perf_counter()
    report = train_nlu(config.nlu_path, config.models_dir, retrain_sentiment=retrain_sentiment,
                       progress=not no_progress)
    click.echo(f"NLU trained: {report}")
    migrate(config.database_url)
    engine = make_engine(config.database_url)
    _seed_if_empty(engine, progress=not no_progress)
    path = train_recommender(engine, config.models_dir, progress=not no_progress)
    click.echo(f"Recommender trained: {path}")
    click.echo(f"All models trained in {time.perf_counter() - started:.1f} s -> {config.models_dir}")


def _seed_if_empty(engine, progress: bool) -> None:
    from sqlalchemy import func, select

    from analytics.demo.seed import seed
    from analytics.store.schema import Order

    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Order)).scalar_one() == 0:
            logger.info("the database has no orders: seeding the demo shop")
            seed(engine, progress=progress)


@main.command("demo-data")
@click.option("--seed", "seed_value", default=7, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True,
              help="Only seed a database without orders (keeps an existing shop and its links).")
@click.pass_obj
def demo_data(config: Config, seed_value: int, if_empty: bool) -> None:
    """(Re)seed the demo shop: customers, products and orders, the same every time."""
    from analytics.demo.seed import example_records, seed
    from analytics.store.db import make_engine, migrate

    migrate(config.database_url)
    engine = make_engine(config.database_url)
    if if_empty:
        _seed_if_empty(engine, progress=True)
    else:
        click.echo(f"Seeded: {seed(engine, seed=seed_value)}")
    click.echo("Try these (email, order number, status):")
    for record in example_records(engine):
        click.echo(f"  {record['email']:<40} {record['order_number']:<8} {record['status']}")


@main.command()
@click.option("--conversation", default=None, help="Conversation id to continue.")
@click.pass_obj
def chat(config: Config, conversation: str | None) -> None:
    """Chat with the bot in the terminal (runs the bot in this process)."""
    asyncio.run(_chat(config, conversation or f"cli-{int(time.time())}"))


async def _chat(config: Config, conversation_id: str) -> None:
    from aiohttp import web

    from bot.app import create_app
    from bot.web.keys import SERVICE

    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the start-up half of cleanup_ctx: models, database
    service = app[SERVICE]
    click.echo(f"Chatting as conversation {conversation_id}. Ctrl-D or /quit to leave.")
    try:
        while True:
            try:
                text = await asyncio.to_thread(input, "you> ")
            except EOFError:
                break
            if text.strip() in ("/quit", "/exit"):
                break
            if not text.strip():
                continue
            for message in await service.handle_message(conversation_id, text, channel="cli"):
                click.echo(f"bot> {message.get('text', '')}")
                for button in message.get("buttons", []):
                    click.echo(f"      [{button['title']}] -> {button['payload']}")
                for product in (message.get("custom") or {}).get("products", []):
                    click.echo(f"      * {product['name']} (${product['price']})")
    finally:
        await runner.cleanup()


@main.group()
def users() -> None:
    """Manage the people who log into the agent console and the analytics dashboard."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "analyst", "admin"]), required=True,
              help="agent: console; analyst: dashboard and reports; admin: both.")
@click.password_option(envvar="CAREBOT_PASSWORD",
                       help="Password (asked for when not given; or set CAREBOT_PASSWORD).")
@click.pass_obj
def users_add(config: Config, name: str, role: str, password: str) -> None:
    """Add a user NAME with a role; the password is stored as a bcrypt hash."""
    from analytics.store.db import make_engine, migrate
    from analytics.store.reads import ConversationStore, UserExistsError

    migrate(config.database_url)
    try:
        user = ConversationStore(make_engine(config.database_url)).add_user(name, password, role)
    except (UserExistsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Added {user.role} '{user.username}' (id {user.id}).")


from bot.cli.analytics import add_analytics_commands  # noqa: E402
from bot.cli.nlu import nlu_group, sentiment_group  # noqa: E402

main.add_command(nlu_group)
main.add_command(sentiment_group)
add_analytics_commands(main)  # report, analytics retrain / rebuild-facts, simulate

if __name__ == "__main__":
    sys.exit(main())
