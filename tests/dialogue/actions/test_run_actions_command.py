"""`carebot run actions` starts rasa_sdk's own action server on the project's actions, and
RemoteActions talks to it as Rasa would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from action_projects import DOMAIN, free_port, tracker, write_project

from bot.dialogue.actions import ActionNotFound, ActionRejected, RemoteActions

CAREBOT = str(Path(sys.executable).with_name("carebot"))


def _carebot(project: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CAREBOT_PROJECT_DIR": str(project)}
    return subprocess.Popen([CAREBOT, "run", "actions", *args], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # its own group: Sanic's worker too


def _wait_until_healthy(url: str, server: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"carebot run actions exited: {server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no action server at {url} after {seconds} s")


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


@pytest.fixture(scope="module")
def action_server(tmp_path_factory) -> Iterator[str]:
    project = write_project(tmp_path_factory.mktemp("served") / "bot")
    port = free_port()
    server = _carebot(project, "--port", str(port))
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}/health", server)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        _stop(server)


async def test_the_server_runs_the_projects_action_for_remote_actions(action_server):
    runner = RemoteActions(action_server, timeout=5)

    result = await runner.run("action_greet_by_name", tracker(slots={"name": "Grace"}), DOMAIN)

    assert result.responses[0]["text"] == "Hello, Grace!"
    assert {"event": "slot", "timestamp": None, "name": "greeted",
            "value": True} in result.events
    await runner.close()


async def test_a_validation_action_over_http_resets_the_slot(action_server):
    runner = RemoteActions(action_server, timeout=5)
    events = [{"event": "slot", "name": "quantity", "value": -2}]

    result = await runner.run("validate_order_form",
                              tracker(slots={"quantity": -2}, events=events), DOMAIN)

    assert result.events == [{"event": "slot", "timestamp": None, "name": "quantity",
                              "value": None}]
    await runner.close()


async def test_the_servers_rejection_is_action_rejected(action_server):
    runner = RemoteActions(action_server, timeout=5)

    with pytest.raises(ActionRejected, match="not while a form is active"):
        await runner.run("action_always_rejects", tracker(), DOMAIN)
    await runner.close()


async def test_an_action_the_server_lacks_is_not_found(action_server):
    runner = RemoteActions(action_server, timeout=5)

    with pytest.raises(ActionNotFound, match="action_nobody_wrote"):
        await runner.run("action_nobody_wrote", tracker(), DOMAIN)
    await runner.close()


def test_a_project_without_an_actions_package_is_refused_with_a_clear_message(tmp_path):
    server = _carebot(tmp_path, "--port", str(free_port()))
    output, _ = server.communicate(timeout=60)

    assert server.returncode != 0
    assert f"{tmp_path} has no actions package" in output
    assert "Traceback" not in output


def test_an_actions_package_that_cannot_import_is_one_line_with_file_and_line(tmp_path):
    write_project(tmp_path, "import not_installed_anywhere\n")
    server = _carebot(tmp_path, "--port", str(free_port()))
    output, _ = server.communicate(timeout=60)

    assert server.returncode != 0
    assert "actions/actions.py:1:" in output
    assert "No module named 'not_installed_anywhere'" in output
    assert "Traceback" not in output
