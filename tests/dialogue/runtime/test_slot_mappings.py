"""action_extract_slots fills slots through every Rasa mapping type, with their conditions."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from bot.dialogue import rasa_events as re_
from bot.dialogue.project.loader import load_project
from bot.dialogue.slot_filling import extract_slots

DOMAIN = """
version: "3.1"
intents: [greet, inform, affirm, deny, book, chitchat]
entities:
  - city:
      roles: [from, to]
  - number
slots:
  departure:
    type: text
    mappings:
      - type: from_entity
        entity: city
        role: from
  destination:
    type: text
    mappings:
      - type: from_entity
        entity: city
        role: to
  party_size:
    type: float
    mappings:
      - type: from_entity
        entity: number
        not_intent: chitchat
  note:
    type: text
    mappings:
      - type: from_text
        conditions:
          - active_loop: booking_form
            requested_slot: note
  confirmed:
    type: bool
    mappings:
      - type: from_intent
        intent: affirm
        value: true
      - type: from_intent
        intent: deny
        value: false
  booking_started:
    type: bool
    mappings:
      - type: from_trigger_intent
        intent: book
        value: true
  cities:
    type: list
    mappings:
      - type: from_entity
        entity: city
forms:
  booking_form:
    required_slots: [departure, note]
    ignored_intents: [chitchat]
responses:
  utter_greet:
    - text: hi
  utter_ask_note:
    - text: any note?
  utter_ask_departure:
    - text: from where?
"""


@pytest.fixture(scope="module")
def domain(tmp_path_factory) -> object:
    root: Path = tmp_path_factory.mktemp("mapping_bot")
    (root / "domain.yml").write_text(textwrap.dedent(DOMAIN))
    (root / "data").mkdir()
    (root / "data" / "nlu.yml").write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n')
    return load_project(root).domain


def user(text: str, intent: str, *entities: dict) -> dict:
    return re_.user(text, {"intent": {"name": intent, "confidence": 1.0},
                           "entities": list(entities)})


async def _no_custom(name: str, events: list[dict]) -> list[dict]:
    raise AssertionError(f"no custom action expected, got {name}")


def filled(domain, events: list[dict]) -> dict:
    found = asyncio.run(extract_slots(events, domain, _no_custom))
    return {e["name"]: e["value"] for e in found if e.get("event") == "slot"}


def in_form(requested: str) -> list[dict]:
    return [re_.action("booking_form"), re_.active_loop("booking_form"),
            re_.slot("requested_slot", requested), re_.listen()]


def test_from_entity_with_a_role_fills_only_the_slot_of_that_role(domain):
    slots = filled(domain, [user("Berlin to Paris", "inform",
                                 {"entity": "city", "value": "Berlin", "role": "from"},
                                 {"entity": "city", "value": "Paris", "role": "to"})])
    assert slots["departure"] == "Berlin" and slots["destination"] == "Paris"


def test_an_entity_without_a_role_does_not_fill_a_role_mapping(domain):
    slots = filled(domain, [user("Rome", "inform", {"entity": "city", "value": "Rome"})])
    assert "departure" not in slots and "destination" not in slots


def test_a_list_slot_takes_every_value_of_its_entity(domain):
    slots = filled(domain, [user("Rome or Oslo", "inform", {"entity": "city", "value": "Rome"},
                                 {"entity": "city", "value": "Oslo"})])
    assert slots["cities"] == ["Rome", "Oslo"]


def test_not_intent_blocks_a_mapping(domain):
    assert "party_size" not in filled(domain, [user("3", "chitchat",
                                                    {"entity": "number", "value": 3})])
    assert filled(domain, [user("3", "inform", {"entity": "number", "value": 3})])["party_size"] == 3


def test_from_intent_sets_the_mapped_value(domain):
    assert filled(domain, [user("yes", "affirm")])["confirmed"] is True
    assert filled(domain, [user("no", "deny")])["confirmed"] is False


def test_from_text_with_a_condition_fills_only_while_its_slot_is_requested(domain):
    assert "note" not in filled(domain, [user("window seat please", "inform")])
    assert "note" not in filled(domain, [*in_form("departure"), user("window seat", "inform")])
    slots = filled(domain, [*in_form("note"), user("window seat please", "inform")])
    assert slots["note"] == "window seat please"


def test_a_forms_ignored_intents_fill_nothing_while_it_is_active(domain):
    event = user("5", "chitchat", {"entity": "number", "value": 5})
    assert "party_size" not in filled(domain, [*in_form("note"), event])


def test_from_trigger_intent_fills_only_once_its_form_is_active(domain):
    assert "booking_started" not in filled(domain, [user("book a trip", "book")])
    events = [user("book a trip", "book"), re_.active_loop("booking_form")]
    assert filled(domain, events)["booking_started"] is True


def test_a_custom_mapping_runs_its_action_and_keeps_only_slot_and_bot_events(tmp_path):
    text = textwrap.dedent(DOMAIN).replace(
        "  cities:\n", "  vip:\n    type: bool\n    mappings:\n      - type: custom\n"
        "        action: action_check_vip\n  cities:\n").replace(
        "responses:", "actions: [action_check_vip]\nresponses:")
    (tmp_path / "domain.yml").write_text(text)
    custom_domain = load_project(tmp_path).domain
    calls = []

    async def run(name: str, events: list[dict]) -> list[dict]:
        calls.append(name)
        return [re_.slot("vip", True), {"event": "restart"}]

    found = asyncio.run(extract_slots([user("hi", "greet")], custom_domain, run))
    assert calls == ["action_check_vip"]
    assert found == [re_.slot("vip", True)]
