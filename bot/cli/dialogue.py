"""``carebot train``, ``carebot test`` and ``carebot shell``: Rasa's commands for any project."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import click

from bot.config import Config

logger = logging.getLogger("carebot")


def _project(config: Config):
    from bot.dialogue.project.loader import load_project

    project = load_project(config.project_dir, config.environ)
    for warning in getattr(project, "warnings", None) or []:
        click.echo(f"warning: {warning}", err=True)
    return project


@click.command()
@click.option("--force", is_flag=True, help="Retrain the dialogue policies even if nothing changed.")
@click.option("--retrain-sentiment", is_flag=True,
              help="Rebuild this install's shared sentiment model too.")
@click.option("--finetune", is_flag=True,
              help="Fine-tune the sentence encoder on this project's intents first (a "
                   "stronger intent model; takes minutes, needs torch). Serving then runs "
                   "the project's own graph; train again without it to go back.")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.pass_obj
def train(config: Config, force: bool, retrain_sentiment: bool, finetune: bool,
          no_progress: bool) -> None:
    """Train the Rasa project in the current directory (or CAREBOT_PROJECT_DIR).

    Reads config.yml (pipeline, policies), domain.yml or domain/, and data/** (NLU, stories,
    rules); writes the NLU and the dialogue policies to CAREBOT_MODELS_DIR (default
    ./models). The base models every project shares (sentence encoder, sentiment) are built
    once per install in CAREBOT_BASE_MODELS_DIR. With `recommender: true` in carebot.yml the
    product recommender is trained from the shop's orders too.
    """
    from bot.dialogue.training import train_project

    started = time.perf_counter()
    project = _project(config)
    if retrain_sentiment:
        from nlp.train import build_base_models

        build_base_models(config.base_models_dir, retrain_sentiment=True,
                          progress=not no_progress)
    summary = train_project(project, config.models_dir, config.base_models_dir,
                            progress=not no_progress, force=force, finetune=finetune)
    for note in summary.notes:
        click.echo(f"  {note}")
    click.echo(f"NLU trained in {summary.seconds['nlu']:.1f} s, dialogue policies in "
               f"{summary.seconds['dialogue']:.1f} s")
    if config.train_recommender:
        path = _train_recommender(config, progress=not no_progress)
        click.echo(f"Recommender trained: {path}")
    click.echo(f"Trained {config.project_dir} in {time.perf_counter() - started:.1f} s "
               f"-> {config.models_dir}")


def _train_recommender(config: Config, progress: bool) -> Path:
    from analytics.insights.recommender import train_recommender
    from analytics.store.db import make_engine, migrate

    migrate(config.database_url)
    db = make_engine(config.database_url)
    seed_if_empty(db, progress=progress)
    return train_recommender(db, config.models_dir, progress=progress)


def seed_if_empty(db, progress: bool) -> None:
    from sqlalchemy import func, select

    from analytics.demo.seed import seed
    from analytics.store.schema import Order

    with db.connect() as conn:
        if conn.execute(select(func.count()).select_from(Order)).scalar_one() == 0:
            logger.info("the database has no orders: seeding the demo shop")
            seed(db, progress=progress)


@click.command("test")
@click.option("--stories", "stories_path", type=click.Path(exists=True, path_type=Path),
              default=None, help="A test stories file or folder [default: tests/].")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("results"),
              show_default=True, help="Where failed_test_stories.yml and the reports go.")
@click.option("--fail-under", type=float, default=None,
              help="Exit 1 when fewer than this share of test-story turns pass (0-1).")
@click.option("--no-nlu", is_flag=True,
              help="Use the stories' intents instead of parsing their texts (dialogue only).")
@click.pass_obj
def test(config: Config, stories_path: Path | None, out_dir: Path, fail_under: float | None,
         no_nlu: bool) -> None:
    """Replay the project's test stories (tests/test_*.yml) like `rasa test`.

    Every user message with text goes through the trained NLU and its intent and entities
    are compared with the story's; before every action of a story the trained policies
    predict it. Prints per-story and per-turn results and writes failed stories, a JSON
    report and a confusion matrix of actions to --out.
    """
    report = asyncio.run(_run_tests(config, stories_path, no_nlu))
    from bot.dialogue.testing import write_results

    summary = report.summary()
    for result in report.stories:
        mark = "ok  " if result.passed else "FAIL"
        click.echo(f"{mark} {result.story.name}"
                   + ("" if result.passed else
                      "  (" + "; ".join(f"{c.kind}: expected {c.expected}, got {c.predicted}"
                                        for c in result.failures[:3]) + ")"))
    written = write_results(report, out_dir)
    turns, stories = summary["turns"], summary["stories"]
    click.echo(f"\nStories passed: {stories['passed']}/{stories['total']}")
    for kind in ("turns", "actions", "intents", "entities"):
        part = summary[kind]
        if part["total"]:
            click.echo(f"{kind.capitalize():<15} {part['passed']}/{part['total']} "
                       f"({part['passed'] / part['total']:.1%})")
    click.echo("Written: " + ", ".join(str(p) for p in written))
    (out_dir / "summary.json").write_text(json.dumps({k: summary[k] for k in (
        "stories", "turns", "actions", "intents", "entities")}, indent=2))
    if fail_under is not None and turns["total"] and turns["passed"] / turns["total"] < fail_under:
        raise click.ClickException(f"{turns['passed']}/{turns['total']} test-story turns "
                                   f"passed, below --fail-under {fail_under}")


async def _run_tests(config: Config, stories_path: Path | None, no_nlu: bool):
    from bot.dialogue.assistant import load_assistant
    from bot.dialogue.testing import run_tests

    project = _project(config)
    assistant = load_assistant(config.project_dir, config.models_dir, config.escalation,
                               project=project, use_project_actions=False)
    stories = None
    if stories_path is not None:
        wanted = stories_path.resolve()
        stories = [s for s in project.test_stories if s.source and (
            Path(s.source.path).resolve() == wanted or wanted in Path(s.source.path).resolve().parents)]
        if not stories:
            raise click.ClickException(f"{stories_path}: no test stories there (files under "
                                       "tests/ with a stories: key are read)")
    parse = None
    if not no_nlu:
        from nlp.pipeline import NLU

        nlu = await asyncio.to_thread(NLU.load, config.models_dir,
                                      base_dir=config.base_models_dir)

        async def parse(text: str) -> dict:
            return (await asyncio.to_thread(nlu.parse, text)).to_dict()

    return await run_tests(project, assistant.policies.predict, parse, stories)


@click.command()
@click.option("--conversation", default=None, help="Conversation id to continue.")
@click.pass_obj
def shell(config: Config, conversation: str | None) -> None:
    """Talk to the bot in the terminal, as `rasa shell` (runs the bot in this process)."""
    asyncio.run(_shell(config, conversation or f"shell-{int(time.time())}"))


async def _shell(config: Config, conversation_id: str) -> None:
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
                if message.get("text"):
                    click.echo(f"bot> {message['text']}")
                if message.get("image"):
                    click.echo(f"bot> [image] {message['image']}")
                for button in message.get("buttons") or []:
                    click.echo(f"      [{button.get('title')}] -> {button.get('payload')}")
                for product in (message.get("custom") or {}).get("products", []):
                    click.echo(f"      * {product['name']} (${product['price']})")
    finally:
        await runner.cleanup()
