"""`carebot data validate` and `carebot init`: check a Rasa project, or start a new one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

_DEBUG_HELP = "Show the full traceback of an unexpected error."


def _project_option(function: Callable) -> Callable:
    return click.option(
        "--project", "-p", "project", default=None,
        type=click.Path(file_okay=False, path_type=Path),
        help="The Rasa project's folder [default: $CAREBOT_PROJECT_DIR, else the current "
             "folder].")(function)


def _config():
    """The group's Config (CAREBOT_PROJECT_DIR, the environment), when run under `carebot`."""
    context = click.get_current_context(silent=True)
    return getattr(context.find_root(), "obj", None) if context else None


def _project_dir(project: Path | None) -> Path:
    config = _config()
    return project or (config.project_dir if config is not None else Path("."))


def _guarded(debug: bool, run: Callable[[], int]) -> None:
    """Run ``run``; a problem in the user's files is one line and exit code 1, anything else
    one line and exit code 2 (the traceback only with --debug)."""
    from bot.dialogue.project.scaffold import ScaffoldError
    from nlp.yamlfile import BotFileError

    context = click.get_current_context(silent=True)
    # `carebot --debug data validate` and `carebot data validate --debug` both show tracebacks;
    # the group's own handler turns user errors into one line unless its flag is set
    if context is not None:
        debug = debug or bool(context.meta.get("carebot.debug"))
        if debug:
            context.meta["carebot.debug"] = True
    try:
        code = run()
    except (BotFileError, ScaffoldError) as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the one place that turns crashes into a line
        if debug:
            raise
        click.echo(f"error: unexpected {type(exc).__name__}: {exc}; rerun with --debug for the "
                   "traceback", err=True)
        sys.exit(2)
    sys.exit(code)


@click.group("data")
def data_group() -> None:
    """Check a Rasa project's domain and training data (like `rasa data`)."""


@data_group.command("validate")
@_project_option
@click.option("--max-history", type=click.IntRange(min=1), default=None,
              help="Turns of history the story-conflict check compares [default: the largest "
                   "max_history of config.yml's policies, else 5].")
@click.option("--fail-on-warnings", is_flag=True,
              help="Exit with code 1 on warnings too, not only on errors.")
@click.option("--debug", is_flag=True, help=_DEBUG_HELP)
def validate(project: Path | None, max_history: int | None, fail_on_warnings: bool,
             debug: bool) -> None:
    """Check the domain, data/** and tests/ of a Rasa project, as `rasa data validate` does.

    \b
    Errors (exit code 1):
      - files that are not valid YAML, or use keys Rasa does not know
      - intents, actions, responses, slots, forms or entities used in data/**, tests/ or
        the NLU data but missing from the domain
      - forms requiring slots that do not exist
      - story structure conflicts: two stories in which the same history (the last
        max_history turns) is followed by different actions
    Warnings (exit code 0 unless --fail-on-warnings):
      - intents without NLU examples, or used in no story or rule
      - responses no story, rule, form or custom action uses
      - examples labelled with two intents; what Carebot reads but does not use

    Each problem is one line: path:line: what is wrong; what to do.
    """
    from bot.dialogue.project.validate import validate_project

    root = _project_dir(project)

    def run() -> int:
        config = _config()
        report = validate_project(root, max_history=max_history,
                                  env=config.environ if config is not None else None)
        for issue in report.warnings:
            click.echo(f"warning: {issue}")
        for issue in report.errors:
            click.echo(f"error: {issue}")
        p = report.project
        counts = (f"{len(p.training_stories)} stories, {len(p.rules)} rules, "
                  f"{len(p.test_stories)} test stories")
        if not report.issues:
            click.echo(f"{root}: no problems found ({counts}).")
        else:
            click.echo(f"{root}: {len(report.errors)} error(s), {len(report.warnings)} "
                       f"warning(s) ({counts}).")
        failed = report.errors or (fail_on_warnings and report.warnings)
        return 1 if failed else 0

    _guarded(debug, run)


@click.command("init")
@click.argument("path", required=False, default=".",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--template", type=click.Choice(["minimal", "demo-shop"]), default="minimal",
              show_default=True,
              help="minimal: a small bot to grow from (like `rasa init`); demo-shop: the "
                   "Carebot Demo Shop with its custom actions.")
@click.option("--force", is_flag=True,
              help="Write into a folder that is not empty (files of the same name are "
                   "overwritten, others are kept).")
@click.option("--debug", is_flag=True, help=_DEBUG_HELP)
def init_command(path: Path, template: str, force: bool, debug: bool) -> None:
    """Create a new Rasa project in PATH [default: the current folder], as `rasa init` does.

    The project has config.yml, domain.yml, data/ (nlu, stories, rules), tests/ (test
    stories), endpoints.yml, credentials.yml, carebot.yml (Carebot's own settings) and an
    actions/ package for custom actions. Then: `carebot train`, `carebot shell`.
    """
    from bot.dialogue.project.scaffold import scaffold

    def run() -> int:
        written = scaffold(path, template, force=force)
        click.echo(f"Created a {template} project in {path} ({len(written)} files):")
        for relative in written:
            click.echo(f"  {relative}")
        where = "" if path == Path(".") else f"cd {path} && "
        click.echo(f"Next: {where}carebot data validate && carebot train && carebot shell")
        return 0

    _guarded(debug, run)


from bot.cli.quality import quality_command  # noqa: E402

data_group.add_command(quality_command)  # carebot data quality
