"""The project's own actions package runs in-process through rasa_sdk's ActionExecutor,
even though Carebot's demo shop has a top-level package called ``actions`` too."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from action_projects import DOMAIN, PROJECT_ACTIONS, tracker, write_project

from bot.dialogue.actions import (
    ActionFailed,
    ActionNotFound,
    ActionRejected,
    ActionsPackageError,
    ProjectActions,
)


@pytest.fixture
def carebot_actions():
    """Carebot's own ``actions`` package, imported before the project's, as in one process
    that serves the demo shop and tests it."""
    import importlib

    importlib.import_module("actions.actions")
    assert sys.modules["actions.actions"].__file__.startswith(str(Path(__file__).parents[3]))
    return sys.modules["actions"]


async def test_the_projects_action_runs_and_imports_its_own_submodule(project, carebot_actions):
    runner = ProjectActions(project)

    result = await runner.run("action_greet_by_name", tracker(slots={"name": "Ada"}), DOMAIN)

    assert result.responses[0]["text"] == "Hello, Ada!"
    assert result.events == [{"event": "slot", "timestamp": None, "name": "greeted",
                              "value": True}]


async def test_only_the_projects_actions_are_registered_not_carebots(project, carebot_actions):
    runner = ProjectActions(project)

    assert runner.names == PROJECT_ACTIONS
    assert "action_order_status" not in runner.names  # one of the demo shop's actions


def test_carebots_own_actions_package_is_back_in_sys_modules_afterwards(project,
                                                                        carebot_actions):
    ProjectActions(project)

    assert sys.modules["actions"] is carebot_actions
    assert str(project) not in sys.path


async def test_two_projects_in_one_process_each_run_their_own_actions(tmp_path):
    first = ProjectActions(write_project(tmp_path / "first"))
    second = ProjectActions(write_project(
        tmp_path / "second",
        "from rasa_sdk import Action\n"
        "from actions.greeting import greeting_for\n\n"
        "class ActionGreetByName(Action):\n"
        "    def name(self):\n"
        "        return 'action_greet_by_name'\n\n"
        "    async def run(self, dispatcher, tracker, domain):\n"
        "        dispatcher.utter_message(text=greeting_for('second') + ' (2)')\n"
        "        return []\n",
    ))

    one = await first.run("action_greet_by_name", tracker(slots={"name": "first"}), DOMAIN)
    two = await second.run("action_greet_by_name", tracker(), DOMAIN)

    assert one.responses[0]["text"] == "Hello, first!"
    assert two.responses[0]["text"] == "Hello, second! (2)"


async def test_a_validate_method_that_resets_a_slot_returns_the_slot_set_event(project):
    runner = ProjectActions(project)
    events = [
        {"event": "active_loop", "name": "order_form"},
        {"event": "user", "text": "zero", "parse_data": {"intent": {"name": "inform"}}},
        {"event": "slot", "name": "quantity", "value": 0},  # the extracted candidate
    ]

    result = await runner.run("validate_order_form",
                              tracker(slots={"quantity": 0}, events=events), DOMAIN)

    assert {"event": "slot", "timestamp": None, "name": "quantity",
            "value": None} in result.events
    assert result.responses[0]["text"] == "A quantity must be more than zero."


async def test_a_valid_slot_is_kept_by_the_validation_action(project):
    runner = ProjectActions(project)
    events = [{"event": "slot", "name": "quantity", "value": 3}]

    result = await runner.run("validate_order_form",
                              tracker(slots={"quantity": 3}, events=events), DOMAIN)

    assert result.events == [{"event": "slot", "timestamp": None, "name": "quantity",
                              "value": 3}]


async def test_a_plain_def_run_action_runs_off_the_event_loop(project):
    runner = ProjectActions(project)

    result = await runner.run("action_look_up_order", tracker(slots={"order_id": "A-1"}),
                              DOMAIN)

    assert result.responses[0]["response"] == "utter_order"
    assert result.responses[0]["order_id"] == "A-1"
    assert result.events[0]["value"].startswith("custom-action")
    await runner.close()


async def test_the_action_does_not_change_the_tracker_it_was_given(project):
    runner = ProjectActions(project)
    state = tracker(slots={"quantity": 0}, events=[{"event": "slot", "name": "quantity",
                                                    "value": 0}])

    await runner.run("validate_order_form", state, DOMAIN)

    assert state["slots"] == {"quantity": 0}


async def test_an_unknown_action_names_the_action_and_the_package(project):
    runner = ProjectActions(project)

    with pytest.raises(ActionNotFound, match="'action_missing'.*actions") as caught:
        await runner.run("action_missing", tracker(), DOMAIN)
    assert caught.value.action_name == "action_missing"
    assert "action_greet_by_name" in str(caught.value)  # what it does register


async def test_an_exception_inside_the_action_is_action_failed_and_logged(project, caplog):
    runner = ProjectActions(project)

    with pytest.raises(ActionFailed, match="action_broken.*ZeroDivisionError"):
        await runner.run("action_broken", tracker(), DOMAIN)
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


async def test_an_execution_rejection_is_action_rejected(project):
    runner = ProjectActions(project)

    with pytest.raises(ActionRejected, match="not while a form is active") as caught:
        await runner.run("action_always_rejects", tracker(), DOMAIN)
    assert caught.value.action_name == "action_always_rejects"


async def test_a_project_without_actions_has_no_custom_actions(tmp_path, carebot_actions):
    runner = ProjectActions(tmp_path)

    assert not runner.has_package
    assert runner.names == frozenset()
    with pytest.raises(ActionNotFound, match="has no actions package"):
        await runner.run("action_greet_by_name", tracker(), DOMAIN)


def test_a_single_actions_module_is_a_package_too(tmp_path):
    (tmp_path / "actions.py").write_text(
        "from rasa_sdk import Action\n\n"
        "class ActionPing(Action):\n"
        "    def name(self):\n"
        "        return 'action_ping'\n\n"
        "    async def run(self, dispatcher, tracker, domain):\n"
        "        return []\n")

    assert ProjectActions(tmp_path).names == {"action_ping"}


def test_a_missing_dependency_names_the_file_line_and_what_to_install(tmp_path: Path):
    write_project(tmp_path, "import pytz_not_installed_here\n")

    with pytest.raises(ActionsPackageError,
                       match=r"actions/actions.py:1: .*No module named "
                             r"'pytz_not_installed_here'.*pip install"):
        ProjectActions(tmp_path)


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path):
    write_project(tmp_path, "x = 1\ndef broken(:\n")

    with pytest.raises(ActionsPackageError, match=r"actions/actions.py:2: .*SyntaxError"):
        ProjectActions(tmp_path)


def test_a_failed_import_leaves_carebots_actions_in_place(tmp_path, carebot_actions):
    write_project(tmp_path, "raise RuntimeError('no database configured')\n")

    with pytest.raises(ActionsPackageError, match="actions.py:1: .*no database configured"):
        ProjectActions(tmp_path)
    assert sys.modules["actions"] is carebot_actions
