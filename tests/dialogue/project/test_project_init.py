"""`carebot init` writes a project that Carebot reads, as `rasa init` does."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from bot.config import read_settings_file
from bot.dialogue.project import load_project
from bot.dialogue.project.scaffold import ScaffoldError, scaffold
from bot.dialogue.project.validate import validate_project

REPO = Path(__file__).resolve().parents[3]
MINIMAL_FILES = [
    "actions/__init__.py", "actions/actions.py", "carebot.yml", "config.yml",
    "credentials.yml", "data/nlu.yml", "data/rules.yml", "data/stories.yml", "domain.yml",
    "endpoints.yml", "tests/test_stories.yml",
]


def test_init_writes_the_minimal_project(tmp_path: Path, carebot):
    target = tmp_path / "bot"
    result = carebot("init", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"Created a minimal project in {target} (11 files):"
    assert result.stdout.splitlines()[-1] == (f"Next: cd {target} && carebot data validate && "
                                              "carebot train && carebot shell")
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")
                  if p.is_file()) == MINIMAL_FILES


def test_the_minimal_project_loads_and_validates_cleanly(tmp_path: Path):
    scaffold(tmp_path / "bot")
    project = load_project(tmp_path / "bot")
    assert (len(project.training_stories), len(project.rules), len(project.test_stories)) == (
        3, 4, 7)
    assert project.credentials == {"rest": {}, "socketio": {}}
    assert project.warnings == []
    assert validate_project(tmp_path / "bot").issues == []


def test_the_minimal_project_has_carebot_settings_carebot_reads(tmp_path: Path):
    scaffold(tmp_path / "bot")
    settings = read_settings_file(tmp_path / "bot" / "carebot.yml")
    assert settings["escalation"]["negative_turns"] == 2
    assert settings["allowed_origins"] == ["*"]


def test_the_demo_shop_template_is_the_repositorys_demo_shop(tmp_path: Path, carebot):
    target = tmp_path / "shop"
    result = carebot("init", str(target), "--template", "demo-shop")
    assert result.returncode == 0, result.stderr
    for name in ("domain.yml", "config.yml", "carebot.yml", "endpoints.yml", "credentials.yml"):
        assert filecmp.cmp(target / name, REPO / name, shallow=False), name
    for folder in ("data", "actions"):
        mine = sorted(p.name for p in (target / folder).iterdir())
        theirs = sorted(p.name for p in (REPO / folder).iterdir() if p.name != "__pycache__")
        assert mine == theirs
        for name in mine:
            assert filecmp.cmp(target / folder / name, REPO / folder / name, shallow=False)
    assert not any(p.is_symlink() for p in target.rglob("*"))
    project = load_project(target)
    assert project.config.assistant_id == "carebot_demo_shop"
    assert project.rules


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, carebot):
    (tmp_path / "notes.txt").write_text("mine")
    result = carebot("init", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (f"error: {tmp_path}: the folder is not empty (cwd, notes.txt); "
                             "choose an empty folder, or add --force to write the project into "
                             "it anyway\n")
    assert not (tmp_path / "domain.yml").exists()


def test_init_with_force_writes_into_it_and_keeps_other_files(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "domain.yml").write_text("old")
    scaffold(tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert load_project(tmp_path).domain.responses["utter_greet"]


def test_a_git_folder_counts_as_empty(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    scaffold(tmp_path)
    assert (tmp_path / "domain.yml").is_file()


def test_an_unknown_template_is_refused(tmp_path: Path):
    with pytest.raises(ScaffoldError, match="unknown template 'shop'; use one of minimal, "
                                            "demo-shop"):
        scaffold(tmp_path, "shop")
