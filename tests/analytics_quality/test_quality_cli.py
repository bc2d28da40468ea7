"""`carebot data quality` and `carebot demo-data --dirty --abusers` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from live_server import REPO, carebot, carebot_env


def run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli.main", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_a_clean_shop_passes_and_a_dirty_one_fails_with_every_defect_listed(sqlite_url):
    env = carebot_env(sqlite_url)
    carebot("demo-data", env=env)
    clean = run("data", "quality", "--fail-on-problems", env=env)
    assert clean.returncode == 0, clean.stderr
    assert "Every check passed" in clean.stdout
    dirty = carebot("demo-data", "--dirty", "--abusers", "5", env=env)
    assert "Injected 34 defects" in dirty.stdout and "C13" in dirty.stdout
    failed = run("data", "quality", "--fail-on-problems", env=env)
    assert failed.returncode == 1 and "34 problem rows" in failed.stdout
    report = json.loads(run("data", "quality", "--format", "json", env=env).stdout)
    assert report["meta"]["problems"] == 34 and len(report["rows"]) == 13
