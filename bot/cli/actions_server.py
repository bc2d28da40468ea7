"""`carebot run actions`: the project's custom actions behind rasa_sdk's own action server, as
`rasa run actions` (and `python -m rasa_sdk --actions actions` in the project folder) runs them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.group("run")
def run_group() -> None:
    """Run one part of the bot on its own, as `rasa run ...` does."""


@run_group.command("actions")
@click.option("--actions", "package", default="actions", show_default=True,
              help="The project's actions package: a folder or module in the project folder.")
@click.option("-p", "--port", default=5055, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (endpoints.yml's action_endpoint points at it).")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The Rasa project folder [default: CAREBOT_PROJECT_DIR or the current one].")
@click.option("--auto-reload", is_flag=True, help="Reload action modules when they change.")
@click.option("--cors", multiple=True, help="Origin allowed by CORS (repeatable; * for any).")
@click.pass_context
def run_actions(ctx: click.Context, package: str, port: int, project: Path | None,
                auto_reload: bool, cors: tuple[str, ...]) -> None:
    """Serve the project's custom actions with Rasa's action-server protocol (POST /webhook)."""
    from bot.dialogue.actions.package import (
        ActionsPackageError,
        find_package,
        import_project_package,
    )

    root = (project or getattr(ctx.obj, "project_dir", None) or Path.cwd()).resolve()
    if "/" in package or "\\" in package:
        raise click.BadParameter("give the package as a module name (e.g. actions), not a path",
                                 param_hint="--actions")
    if not root.is_dir():
        raise click.ClickException(f"{root} is not a folder; pass --project with the folder "
                                   "that holds domain.yml and the actions package.")
    if find_package(root, package.split(".")[0]) is None:
        raise click.ClickException(
            f"{root} has no {package} package (no {root / package}/ folder or {package}.py); "
            "write the project's custom actions there, or pass --project / --actions.")
    # The server imports the package by name, here and in Sanic's worker process (which
    # inherits sys.path and the working directory), as `python -m rasa_sdk` in the folder.
    os.chdir(root)
    sys.path.insert(0, str(root))
    try:
        import_project_package(root, package.split(".")[0])
    except ActionsPackageError as exc:
        raise click.ClickException(str(exc)) from exc

    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser

    argv = ["--actions", package, "--port", str(port)]
    if auto_reload:
        argv.append("--auto-reload")
    if cors:
        argv += ["--cors", *cors]
    click.echo(f"Serving the actions of {root / package} on http://0.0.0.0:{port}/webhook")
    main_from_args(create_argument_parser().parse_args(argv))
