"""A real `carebot serve` process on an ephemeral port, over a real SQLite or PostgreSQL DB."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = Path(os.environ.get("CAREBOT_MODELS_DIR", REPO / "models"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def carebot_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(CAREBOT_DATABASE_URL=database_url, CAREBOT_MODELS_DIR=str(MODELS_DIR),
               CAREBOT_PROJECT_DIR=str(REPO), HF_HUB_OFFLINE="1", **extra)
    return env


def carebot(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=True)


@dataclass
class RunningServer:
    url: str
    database_url: str
    process: subprocess.Popen
    log_path: Path

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=30, **kwargs)

    def say(self, sender: str, message: str) -> list[dict]:
        response = self.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(database_url: str, tmp_path: Path, **extra_env: str) -> RunningServer:
    if not (MODELS_DIR / "metadata.json").exists():
        pytest.fail(f"no trained models in {MODELS_DIR}: run `make models` (the test command does)")
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    env = carebot_env(database_url, CAREBOT_SPOOL_DIR=str(tmp_path / "spool"), **extra_env)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], env=env, cwd=REPO,
        stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return RunningServer(url, database_url, process, log_path)
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not come up:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def database_backend() -> str:
    """Which database fixture a module runs on; modules override it to run on both."""
    return "module_sqlite_url"


@pytest.fixture(scope="module")
def seeded_database_url(request, database_backend) -> str:
    """A demo-shop database (SQLite file or fresh PostgreSQL database) for one test module."""
    url = request.getfixturevalue(database_backend)
    carebot("demo-data", env=carebot_env(url))
    return url


@pytest.fixture
def server_factory(tmp_path):
    """Start (and at the end stop) as many servers as a test needs."""
    started: list[RunningServer] = []

    def start(database_url: str, **extra_env: str) -> RunningServer:
        running = start_server(database_url, tmp_path, **extra_env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory) -> Iterator[RunningServer]:
    running = start_server(seeded_database_url, tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def db(seeded_database_url):
    engine = create_engine(seeded_database_url)
    yield engine
    engine.dispose()


def _create_postgres_database() -> tuple[str, callable]:
    import uuid

    admin_url = os.environ.get("CAREBOT_TEST_POSTGRES_ADMIN_URL",
                               "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    name = f"carebot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - report why PostgreSQL tests cannot run
        admin.dispose()
        pytest.skip(f"PostgreSQL at {admin_url} is not reachable: {exc}")

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,))
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


@pytest.fixture(scope="module")
def module_sqlite_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'carebot.db'}"


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    url, drop = _create_postgres_database()
    yield url
    drop()
