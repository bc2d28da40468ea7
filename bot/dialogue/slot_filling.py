"""``action_extract_slots``: fill slots from the latest user message through their mappings,
as Rasa 3 does after every user turn (and again when a form is activated)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from bot.dialogue import events as ev
from bot.dialogue import rasa_events as re_
from bot.dialogue.project.model import REQUESTED_SLOT, Domain, SlotMapping

# run_custom(action_name, events) -> the events the action returned
RunCustom = Callable[[str, list[dict]], Awaitable[list[dict]]]
ACTION_VALIDATE_SLOT_MAPPINGS = "action_validate_slot_mappings"


def _matches_conditions(mapping: SlotMapping, view: ev.TrackerView, slot_name: str) -> bool:
    if not mapping.conditions or mapping.type == "from_trigger_intent":
        return True
    if view.is_active_loop_rejected and view.slots.get(REQUESTED_SLOT) == slot_name:
        return False
    for condition in mapping.conditions:
        loop = condition.active_loop
        if loop and loop == view.active_loop_name:
            if not condition.requested_slot or \
                    condition.requested_slot == view.slots.get(REQUESTED_SLOT):
                return True
        if loop is None and view.active_loop_name is None:
            return True
    return False


def _intent_is_desired(mapping: SlotMapping, view: ev.TrackerView, domain: Domain) -> bool:
    not_intents = list(mapping.not_intent)
    loop = view.active_loop_name
    if loop and loop in domain.forms:
        applies = not mapping.conditions or any(c.active_loop == loop for c in mapping.conditions)
        if applies:
            not_intents += list(domain.forms[loop].ignored_intents)
    intent = view.latest_intent
    if mapping.intent:
        return intent in mapping.intent
    return intent not in set(not_intents)


def _entity_values(view: ev.TrackerView, entity: str | None, role: str | None,
                   group: str | None) -> list[Any]:
    values = []
    for found in ev.user_entities(view.latest_message or {}):
        if found.get("entity") == entity and found.get("role") == role \
                and found.get("group") == group:
            values.append(found.get("value"))
    return values


def _mapping_key(mapping: SlotMapping) -> str:
    return json.dumps([mapping.entity, mapping.role, mapping.group, list(mapping.intent),
                       list(mapping.not_intent)], sort_keys=True)


def _fails_unique_entity_check(slot_name: str, mapping: SlotMapping, view: ev.TrackerView,
                               domain: Domain) -> bool:
    """An entity that could fill several of the active form's slots fills only the requested
    one (Rasa's "unique entity mapping" rule)."""
    form = domain.forms.get(view.active_loop_name or "")
    if mapping.type != "from_entity" or form is None:
        return False
    if view.slots.get(REQUESTED_SLOT) == slot_name or slot_name not in form.required_slots:
        return False
    key = _mapping_key(mapping)
    uses = sum(1 for name in form.required_slots if name in domain.slots
               for m in domain.slots[name].mappings
               if m.type == "from_entity" and _mapping_key(m) == key)
    return uses > 1


def _predefined_value(mapping: SlotMapping, view: ev.TrackerView) -> list[Any]:
    if mapping.type == "from_entity":
        return _entity_values(view, mapping.entity, mapping.role, mapping.group)
    if mapping.type == "from_intent":
        return [mapping.value]
    if mapping.type == "from_text":
        return [(view.latest_message or {}).get("text")]
    if mapping.type == "from_trigger_intent":
        loops = [c.active_loop for c in mapping.conditions]
        if view.active_loop_name is None or (loops and view.active_loop_name not in loops):
            return []
        return [mapping.value]
    return []


async def extract_slots(events: list[dict], domain: Domain, run_custom: RunCustom) -> list[dict]:
    """The SlotSet (and bot) events ``action_extract_slots`` adds after the latest message."""
    view = ev.view(events, domain)
    if view.latest_message is None:
        return []
    found: list[dict] = []
    ran_custom: set[str] = set()
    for slot in domain.slots.values():
        for mapping in slot.mappings:
            if mapping.type == "from_entity" and mapping.entity not in domain.entities:
                continue
            if not _intent_is_desired(mapping, view, domain):
                continue
            if not _matches_conditions(mapping, view, slot.name):
                continue
            if _fails_unique_entity_check(slot.name, mapping, view, domain):
                continue
            if mapping.type == "custom":
                action = mapping.action
                if action and action not in ran_custom:
                    ran_custom.add(action)
                    returned = await run_custom(action, events + found)
                    found += [e for e in returned if e.get("event") in ("slot", "bot")]
                continue
            values = [v for v in _predefined_value(mapping, view) if v is not None] \
                if mapping.type == "from_entity" else _predefined_value(mapping, view)
            if values:
                value = values if slot.type == "list" else values[-1]
                if value is not None or view.slots.get(slot.name) is not None:
                    found.append(re_.slot(slot.name, value))
                    break
    if ACTION_VALIDATE_SLOT_MAPPINGS in domain.actions and found:
        validated = await run_custom(ACTION_VALIDATE_SLOT_MAPPINGS, events + found)
        names = {e.get("name") for e in validated if e.get("event") == "slot"}
        found = validated + [e for e in found if e.get("event") == "slot"
                             and e.get("name") not in names]
    return found
