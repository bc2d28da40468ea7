"""A Rasa project of our own in a temporary folder, with an ``actions`` package that imports
its own submodule, as real projects do (``from actions.greeting import ...``); trackers and a
domain in Rasa's action-server JSON shape."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

ACTIONS_PY = '''
import threading

from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.interfaces import ActionExecutionRejection

from actions.greeting import greeting_for


class ActionGreetByName(Action):
    def name(self):
        return "action_greet_by_name"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text=greeting_for(tracker.get_slot("name")))
        return [SlotSet("greeted", True)]


class ActionLookUpOrder(Action):
    """A plain ``def run``, as many Rasa projects write them."""

    def name(self):
        return "action_look_up_order"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_order", order_id=tracker.get_slot("order_id"))
        return [SlotSet("looked_up_on", threading.current_thread().name)]


class ActionAlwaysRejects(Action):
    def name(self):
        return "action_always_rejects"

    async def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection(self.name(), "not while a form is active")


class ActionBroken(Action):
    def name(self):
        return "action_broken"

    async def run(self, dispatcher, tracker, domain):
        return [SlotSet("ratio", 1 / 0)]


class ValidateOrderForm(FormValidationAction):
    def name(self):
        return "validate_order_form"

    def validate_quantity(self, slot_value, dispatcher, tracker, domain):
        if float(slot_value) > 0:
            return {"quantity": slot_value}
        dispatcher.utter_message(text="A quantity must be more than zero.")
        return {"quantity": None}
'''

GREETING_PY = '''
def greeting_for(name):
    return f"Hello, {name}!"
'''

PROJECT_ACTIONS = {"action_greet_by_name", "action_look_up_order", "action_always_rejects",
                   "action_broken", "validate_order_form"}


def write_project(root: Path, actions_py: str = ACTIONS_PY) -> Path:
    package = root / "actions"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "greeting.py").write_text(textwrap.dedent(GREETING_PY))
    (package / "actions.py").write_text(textwrap.dedent(actions_py))
    return root


def tracker(sender_id: str = "customer-1", slots: dict | None = None,
            events: list | None = None) -> dict:
    """A tracker in Rasa's action-server JSON shape."""
    return {
        "sender_id": sender_id,
        "slots": dict(slots or {}),
        "latest_message": {"intent": {"name": "greet", "confidence": 1.0}, "entities": [],
                           "text": "hi"},
        "events": list(events or []),
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }


DOMAIN = {
    "slots": {
        "name": {"type": "text", "mappings": [{"type": "from_text"}]},
        "quantity": {"type": "float", "mappings": [{"type": "from_entity", "entity": "number",
                                                     "conditions": [{"active_loop": "order_form"}]}]},
    },
    "forms": {"order_form": {"required_slots": ["quantity"]}},
    "responses": {"utter_order": [{"text": "Order {order_id} is on its way."}]},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
