"""`carebot users add --display-name` and `carebot users display-name`: the name customers see."""

from __future__ import annotations

import pytest
from live_server import carebot, carebot_env
from sqlalchemy import create_engine, select

from analytics.store.schema import User

pytestmark = pytest.mark.slow


def display_name(url: str, username: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(User.display_name)
                                .where(User.username == username)).scalar_one()
    finally:
        engine.dispose()


def test_an_agent_gets_a_display_name_when_added_and_can_change_it(sqlite_url):
    env = carebot_env(sqlite_url, CAREBOT_PASSWORD="a long test password")
    carebot("users", "add", "alice", "--role", "agent", "--display-name", "Alice Moreau", env=env)
    assert display_name(sqlite_url, "alice") == "Alice Moreau"
    said = carebot("users", "display-name", "alice", "Alice M.", env=env)
    assert "Alice M." in said.stdout
    assert display_name(sqlite_url, "alice") == "Alice M."
    carebot("users", "display-name", "alice", env=env)
    assert display_name(sqlite_url, "alice") is None


def test_a_display_name_for_nobody_says_how_to_add_the_user(sqlite_url):
    import subprocess
    import sys

    from live_server import REPO

    result = subprocess.run([sys.executable, "-m", "bot.cli.main", "users", "display-name",
                             "nobody", "X"], env=carebot_env(sqlite_url), cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "carebot users add" in result.stderr
