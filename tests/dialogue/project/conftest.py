"""Real Rasa projects (../shared/rasa_bots, never edited) copied into a temporary folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rasa_bots import RASA_BOTS

REPO = Path(__file__).resolve().parents[3]


def _copy(name: str, tmp_path: Path) -> Path:
    source = RASA_BOTS / name
    if not source.is_dir():
        pytest.fail(f"{source} is missing: the real Rasa projects live in ../shared/rasa_bots")
    return Path(shutil.copytree(source, tmp_path / name))


@pytest.fixture
def rasa_init(tmp_path: Path) -> Path:
    """The project `rasa init` makes (rasa 3.6.21), in a temporary folder."""
    return _copy("rasa-init", tmp_path)


@pytest.fixture
def financial_demo(tmp_path: Path) -> Path:
    """RasaHQ's financial-demo (forms, form switching, checkpoint-free or-stories)."""
    return _copy("financial-demo", tmp_path)


@pytest.fixture
def carebot(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run the real `carebot` command line (python -m bot.cli) in a scratch folder."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env.update(HF_HUB_OFFLINE="1", CAREBOT_SESSION_SECRET="test-secret")

    def run(*args: str, cwd: Path = workdir) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)

    return run
