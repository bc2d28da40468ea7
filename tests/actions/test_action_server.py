"""The actions run unchanged under Rasa's own action server (`python -m rasa_sdk`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.recommender import train_recommender

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


@pytest.fixture
def action_server(engine, tmp_path: Path) -> Iterator[str]:
    models = tmp_path / "models"
    train_recommender(engine, models, progress=False)
    port = _free_port()
    env = {
        **os.environ,
        "CAREBOT_DATABASE_URL": str(engine.url),
        "CAREBOT_MODELS_DIR": str(models),
    }
    log = (tmp_path / "action-server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail((tmp_path / "action-server.log").read_text())
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


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
