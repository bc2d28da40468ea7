"""A project's action schedules a Rasa reminder: it fires its intent on time into the
conversation, and one scheduled before a restart fires after it (a real `carebot serve`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from live_server import BASE_MODELS_DIR, PASSWORD, add_user, start_server, wait_for
from rasa_bots import RASA_BOTS

BOTS = RASA_BOTS
pytestmark = pytest.mark.slow

ACTIONS = '''
import datetime

from rasa_sdk import Action
from rasa_sdk.events import ReminderScheduled


class ActionSetReminder(Action):
    def name(self):
        return "action_set_reminder"

    def run(self, dispatcher, tracker, domain):
        seconds = float(tracker.get_slot("delay") or 1)
        dispatcher.utter_message(text=f"I'll remind you in {seconds:g} seconds.")
        when = datetime.datetime.now() + datetime.timedelta(seconds=seconds)
        return [ReminderScheduled("EXTERNAL_reminder", trigger_date_time=when,
                                  name="nudge", kill_on_user_message=False)]
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    if not (BOTS / "rasa-init").is_dir():
        pytest.fail("../shared/rasa_bots/rasa-init is not on this machine" + ": set CAREBOT_RASA_BOTS")
    root = shutil.copytree(BOTS / "rasa-init", tmp_path_factory.mktemp("remind") / "bot")
    domain = (root / "domain.yml").read_text()
    domain = domain.replace("  - bot_challenge\n", "  - bot_challenge\n  - remind_me\n"
                            "  - EXTERNAL_reminder\n")
    domain = domain.replace("responses:\n", "responses:\n  utter_reminder:\n"
                            "  - text: \"Here is your reminder!\"\n\n")
    domain += textwrap.dedent("""
        slots:
          delay:
            type: float
            influence_conversation: false
            mappings:
              - type: custom
        actions:
          - action_set_reminder
        """)
    (root / "domain.yml").write_text(domain)
    with (root / "data" / "nlu.yml").open("a") as nlu:
        nlu.write(textwrap.dedent("""
            - intent: remind_me
              examples: |
                - remind me later
                - set a reminder
                - please remind me
                - can you remind me
                - give me a reminder
            """))
    with (root / "data" / "rules.yml").open("a") as rules:
        rules.write(textwrap.dedent("""
            - rule: Set a reminder
              steps:
              - intent: remind_me
              - action: action_set_reminder

            - rule: The reminder fires
              steps:
              - intent: EXTERNAL_reminder
              - action: utter_reminder
            """))
    (root / "actions" / "actions.py").write_text(ACTIONS)
    env = {**os.environ, "CAREBOT_PROJECT_DIR": str(root), "CAREBOT_MODELS_DIR": str(root / "models"),
           "CAREBOT_BASE_MODELS_DIR": str(BASE_MODELS_DIR)}
    done = subprocess.run([sys.executable, "-m", "bot.cli.main", "--log-level", "WARNING",
                           "train", "--no-progress"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def _events(server, conversation_id: str) -> list[dict]:
    agent = server.login("alice", PASSWORD)
    response = agent.get(f"{server.url}/conversations/{conversation_id}/tracker", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def _reminded(server, conversation_id: str) -> bool:
    return any(e.get("event") == "bot" and e.get("text") == "Here is your reminder!"
               for e in _events(server, conversation_id))


def test_a_reminder_fires_its_intent_on_time(project, tmp_path):
    database = f"sqlite:///{tmp_path / 'remind.db'}"
    server = start_server(database, tmp_path, project_dir=project, models_dir=project / "models")
    try:
        add_user(database, "alice", "agent", PASSWORD)
        started = time.monotonic()
        reply = server.say("r1", "please remind me")
        assert reply[0]["text"].startswith("I'll remind you in")
        assert wait_for(lambda: _reminded(server, "r1"), timeout=15)
        assert time.monotonic() - started >= 0.9  # not before its time
        fired = [e for e in _events(server, "r1") if e.get("event") == "user"][-1]
        assert fired["parse_data"]["intent"]["name"] == "EXTERNAL_reminder"
    finally:
        server.stop()


def test_a_reminder_scheduled_before_a_restart_fires_after_it(project, tmp_path):
    database = f"sqlite:///{tmp_path / 'restart.db'}"
    server = start_server(database, tmp_path, project_dir=project, models_dir=project / "models")
    try:
        add_user(database, "alice", "agent", PASSWORD)
        server.say("r2", "hello")
        agent = server.login("alice", PASSWORD)
        set_delay = agent.post(f"{server.url}/conversations/r2/tracker/events", timeout=30,
                               json={"event": "slot", "name": "delay", "value": 4})
        assert set_delay.status_code == 200, set_delay.text
        assert server.say("r2", "please remind me")[0]["text"] == "I'll remind you in 4 seconds."
        assert not _reminded(server, "r2")
    finally:
        server.stop()  # before the reminder's time
    server = start_server(database, tmp_path, project_dir=project, models_dir=project / "models")
    try:
        assert wait_for(lambda: _reminded(server, "r2"), timeout=20)
    finally:
        server.stop()
