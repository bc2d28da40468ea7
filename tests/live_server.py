"""Real `carebot serve` processes on ephemeral ports, for tests that drive the server from the
outside (HTTP, WebSocket, Chromium). Shared by tests/agent and tests/browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("CAREBOT_MODELS_DIR", REPO / "models"))
REDIS_URL = os.environ.get("CAREBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN_URL = os.environ.get(
    "CAREBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
PASSWORD = "a long test password"  # every console user's
WIDGET_SECRET = "test-widget-secret"
CONSOLE_USERS = (("alice", "agent"), ("bob", "agent"), ("ann", "analyst"), ("root", "admin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BASE_MODELS_DIR = Path(os.environ.get("CAREBOT_BASE_MODELS_DIR", MODELS_DIR))


def carebot_env(database_url: str, project_dir: Path = REPO, models_dir: Path = MODELS_DIR,
                **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CAREBOT_REDIS_URL", None)  # a test opts in to Redis explicitly
    env.update(CAREBOT_DATABASE_URL=database_url, CAREBOT_MODELS_DIR=str(models_dir),
               CAREBOT_PROJECT_DIR=str(project_dir), CAREBOT_BASE_MODELS_DIR=str(BASE_MODELS_DIR),
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               # every test client is 127.0.0.1: per-address limits would couple the tests
               # (tests/bot/test_rate_limits.py sets its own)
               CAREBOT_LIMIT_MESSAGES_PER_ADDRESS="off",
               CAREBOT_LIMIT_ORDER_LOOKUPS_PER_ADDRESS="off",
               CAREBOT_LIMIT_LOGIN_FAILURES_PER_ADDRESS="off")
    env.update(extra)
    return env


def carebot(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the `carebot` CLI; fails the test with its output when it fails."""
    result = subprocess.run([sys.executable, "-m", "bot.cli.main", *args], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"carebot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def add_user(database_url: str, name: str, role: str, password: str) -> None:
    carebot("users", "add", name, "--role", role,
            env=carebot_env(database_url, CAREBOT_PASSWORD=password))


def seed_shop(database_url: str) -> str:
    """Migrate and fill the database with the demo shop and the console users."""
    carebot("demo-data", env=carebot_env(database_url))
    for name, role in CONSOLE_USERS:
        add_user(database_url, name, role, PASSWORD)
    return database_url


def postgres_database():
    """A new, empty PostgreSQL database for the duration (skips when PostgreSQL is down)."""
    from dbfixtures import fresh_postgres_database

    return fresh_postgres_database()


def redis_unreachable_reason() -> str | None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        return None
    except redis.RedisError as exc:
        return (f"Redis is not reachable at {REDIS_URL} ({exc}); start it or set "
                "CAREBOT_TEST_REDIS_URL to run the multi-process tests")
    finally:
        client.close()


@dataclass
class RunningServer:
    url: str
    database_url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=60, **kwargs)

    def say(self, sender: str, message: str, **metadata) -> list[dict]:
        body = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        response = requests.post(self.url + "/webhooks/rest/webhook", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def tracker(self, conversation_id: str) -> dict:
        """The Rasa tracker, read as the agent alice (it holds the customer's personal data)."""
        agent = self.login("alice", PASSWORD)
        response = agent.get(f"{self.url}/conversations/{conversation_id}/tracker", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def login(self, username: str, password: str) -> requests.Session:
        session = requests.Session()
        response = session.post(self.url + "/auth/login",
                                json={"username": username, "password": password}, timeout=30)
        assert response.status_code == 200, response.text
        return session

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


def start_server(database_url: str, tmp_path: Path, *, project_dir: Path = REPO,
                 models_dir: Path = MODELS_DIR, workers: int = 1,
                 **extra_env: str) -> RunningServer:
    """Start `carebot serve` for a project on a free port and wait until /health answers
    (one process unless ``workers``: `serve` alone would start one per core)."""
    if not (models_dir / "metadata.json").exists():
        pytest.fail(f"no trained models in {models_dir}: run `make models` (the test command does)")
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    # a test that restarts a server passes CAREBOT_SPOOL_DIR: the journal to replay is there
    env = carebot_env(database_url, project_dir, models_dir,
                      **{"CAREBOT_SPOOL_DIR": str(tmp_path / f"spool-{port}"), **extra_env})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "serve", "--port", str(port),
             "--workers", str(workers)], env=env,
            cwd=project_dir, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return RunningServer(url, database_url, process, log_path)
        except (requests.ConnectionError, requests.Timeout):  # workers: bound, not yet serving
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not come up:\n{log_path.read_text()}")


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
