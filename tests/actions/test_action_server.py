"""The actions run unchanged under Rasa's own action server (`python -m rasa_sdk`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.insights.recommender import train_recommender

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def action_server(module_engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("action-server")
    train_recommender(module_engine, workdir / "models", progress=False)
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CAREBOT_DATABASE_URL": str(module_engine.url),
        "CAREBOT_MODELS_DIR": str(workdir / "models"),
    }
    log_path = workdir / "action-server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"action server did not start:\n{log_path.read_text()}")
                time.sleep(0.3)
        yield url
    finally:
        # Sanic shuts down on Ctrl-C; it ignores SIGTERM for a long while.
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_rasas_action_server_answers_order_status_from_the_configured_database(
    action_server, make_call
):
    reply = _post(
        f"{action_server}/webhook",
        make_call("action_order_status", order_id="a10003", email="ana@example.com"),
    )

    assert "A10003 shipped on" in reply["responses"][0]["text"]
    assert reply["events"][0]["name"] == "order_id"
    assert reply["events"][0]["value"] == "A10003"


def test_rasas_action_server_uses_the_trained_recommender(action_server, make_call):
    reply = _post(
        f"{action_server}/webhook", make_call("action_recommend_products", customer_id="C1001")
    )

    products = reply["responses"][0]["custom"]["products"]
    assert [p["sku"] for p in products] == ["E102", "S201"]
