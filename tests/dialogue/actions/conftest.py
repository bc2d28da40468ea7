"""Fixtures: a project folder with its own ``actions`` package; sys.modules left clean."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from action_projects import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "bot")


@pytest.fixture(autouse=True)
def carebot_actions_stay_importable() -> Iterator[None]:
    """Each test leaves ``actions`` in sys.modules and sys.path as it found them, so
    later tests of Carebot's own ``actions`` package import the right one."""
    saved = {k: v for k, v in sys.modules.items() if k == "actions" or k.startswith("actions.")}
    path = list(sys.path)
    yield
    for key in [k for k in sys.modules if k == "actions" or k.startswith("actions.")]:
        del sys.modules[key]
    sys.modules.update(saved)
    sys.path[:] = path
