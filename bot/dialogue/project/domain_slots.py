"""Slots, their mappings and forms, from merged domain entries.

Rasa 2.x domains are read too, converted the way ``rasa data migrate`` converts them: slot
mappings written inside a form become slot mappings with a condition on that form (and on
the requested slot, except from_entity / from_trigger_intent), and a slot without mappings
is filled from the entity of the same name unless ``auto_fill: false``.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.project.domain_merge import Entry
from bot.dialogue.project.model import (
    REQUESTED_SLOT,
    SESSION_STARTED_METADATA_SLOT,
    Form,
    MappingCondition,
    Slot,
    SlotMapping,
)

SLOT_TYPES = ("text", "bool", "categorical", "float", "list", "any")
SLOT_KEYS = ("type", "mappings", "influence_conversation", "initial_value", "auto_fill")
TYPE_KEYS = {"categorical": ("values",), "float": ("min_value", "max_value")}
MAPPING_KEYS = {
    "from_entity": ("entity", "role", "group", "intent", "not_intent", "conditions"),
    "from_text": ("intent", "not_intent", "conditions"),
    "from_intent": ("value", "intent", "not_intent", "conditions"),
    "from_trigger_intent": ("value", "intent", "not_intent", "conditions"),
    "custom": ("action", "conditions"),
}
CONDITION_KEYS = ("active_loop", "requested_slot")
FORM_KEYS = ("required_slots", "ignored_intents")
OLD_SLOT_TYPES = {
    "unfeaturized": "Rasa 2 removed type 'unfeaturized'; use type: any with "
                    "influence_conversation: false",
}


def read_forms(entries: dict[str, Entry]) -> tuple[dict[str, Form], dict[str, list[tuple]]]:
    """Forms, and the Rasa 2.x slot mappings found inside them (slot -> [(entry, path, dict)])."""
    forms: dict[str, Form] = {}
    form_mappings: dict[str, list[tuple]] = {}
    for name, entry in entries.items():
        spec = entry.value if entry.value is not None else {}
        if not isinstance(spec, dict):
            raise entry.error(f"form '{name}' must be a mapping with required_slots:")
        if "required_slots" not in spec and spec and not set(spec) <= set(FORM_KEYS):
            spec = {"required_slots": spec}  # Rasa 2.0: the form maps slot names to mappings
            slots_path: tuple = ()
        else:
            entry.doc.check_keys(spec, FORM_KEYS, *entry.path, where=f"form '{name}'")
            slots_path = ("required_slots",)
        required = spec.get("required_slots") or []
        names: list[str] = []
        if isinstance(required, dict):  # Rasa 2.x: required_slots: {slot: [mappings]}
            for slot, mappings in required.items():
                names.append(str(slot))
                if mappings is None:
                    continue
                if not isinstance(mappings, list):
                    raise entry.error(f"the mappings of slot '{slot}' in form '{name}' must be "
                                      "a list", *slots_path, slot)
                for i, mapping in enumerate(mappings):
                    form_mappings.setdefault(str(slot), []).append(
                        (entry, (*slots_path, slot, i), mapping, name))
        elif isinstance(required, list) and all(isinstance(s, str) for s in required):
            names = list(required)
        else:
            raise entry.error(f"required_slots of form '{name}' must be a list of slot names",
                              "required_slots")
        ignored = spec.get("ignored_intents") or []
        if isinstance(ignored, str):
            ignored = [ignored]
        if not isinstance(ignored, list) or not all(isinstance(i, str) for i in ignored):
            raise entry.error(f"ignored_intents of form '{name}' must be a list of intents",
                              "ignored_intents")
        forms[name] = Form(name, tuple(names), tuple(ignored))
    return forms, form_mappings


def read_slots(entries: dict[str, Entry], entity_names: set[str],
               form_mappings: dict[str, list[tuple]], forms: dict[str, Form],
               warnings: list[str]) -> tuple[dict[str, Slot], dict[str, dict]]:
    """Slots (defaults added as Rasa adds them) and their raw dicts for the action server."""
    slots: dict[str, Slot] = {}
    raw: dict[str, dict] = {}
    for name, entry in entries.items():
        slot, raw_slot = _read_slot(name, entry, entity_names, form_mappings.get(name, []),
                                    warnings)
        slots[name] = slot
        raw[name] = raw_slot
    for slot_name, found in form_mappings.items():
        if slot_name not in slots:
            entry, path = found[0][0], found[0][1]
            raise entry.error(f"form '{found[0][3]}' maps slot '{slot_name}', which is not "
                              "under slots:; add it there with its type", *path)
    if forms and REQUESTED_SLOT not in slots:
        slots[REQUESTED_SLOT] = Slot(REQUESTED_SLOT, "text", influence_conversation=False)
    if SESSION_STARTED_METADATA_SLOT not in slots:
        slots[SESSION_STARTED_METADATA_SLOT] = Slot(SESSION_STARTED_METADATA_SLOT, "any",
                                                    influence_conversation=False)
    return slots, raw


def _read_slot(name: str, entry: Entry, entity_names: set[str], form_mappings: list[tuple],
               warnings: list[str]) -> tuple[Slot, dict]:
    spec = entry.value
    if not isinstance(spec, dict):
        raise entry.error(f"slot '{name}' must be a mapping with at least type:")
    kind = spec.get("type")
    if kind is None:
        raise entry.error(f"slot '{name}' has no type; use one of {', '.join(SLOT_TYPES)}")
    kind = str(kind)
    if kind in OLD_SLOT_TYPES:
        raise entry.error(OLD_SLOT_TYPES[kind], "type")
    if kind not in SLOT_TYPES:
        custom = " (custom slot classes cannot run in Carebot)" if "." in kind else ""
        raise entry.error(f"slot '{name}' has unknown type '{kind}'{custom}; use one of "
                          f"{', '.join(SLOT_TYPES)}", "type")
    entry.doc.check_keys(spec, (*SLOT_KEYS, *TYPE_KEYS.get(kind, ())), *entry.path,
                         where=f"a {kind} slot")
    influence = spec.get("influence_conversation", kind != "any")
    if not isinstance(influence, bool):
        raise entry.error("influence_conversation must be true or false",
                          "influence_conversation")
    if kind == "any" and influence:
        raise entry.error(f"slot '{name}' of type any cannot influence the conversation; "
                          "set influence_conversation: false or use another type",
                          "influence_conversation")
    raw_mappings = spec.get("mappings")
    mapping_dicts: list[dict] = []
    mappings: list[SlotMapping] = []
    if raw_mappings is None:
        mapping_dicts = _rasa2_default_mappings(name, entry, spec, entity_names, warnings)
        mappings = [_mapping(entry, m, ("mappings",), name) for m in mapping_dicts]
    elif not isinstance(raw_mappings, list):
        raise entry.error(f"mappings of slot '{name}' must be a list", "mappings")
    else:
        for i, mapping in enumerate(raw_mappings):
            mappings.append(_mapping(entry, mapping, ("mappings", i), name))
            mapping_dicts.append(dict(mapping))
    for form_entry, path, mapping, form in form_mappings:
        mapping = dict(mapping) if isinstance(mapping, dict) else mapping
        parsed = _mapping(form_entry, mapping, path, name)
        condition = {"active_loop": form}
        if parsed.type not in ("from_entity", "from_trigger_intent"):
            condition["requested_slot"] = name
        mapping["conditions"] = [*(mapping.get("conditions") or []), condition]
        mappings.append(_mapping(form_entry, mapping, path, name))
        mapping_dicts.append(mapping)
    values: tuple[str, ...] = ()
    if kind == "categorical":
        raw_values = spec.get("values") or []
        if not isinstance(raw_values, list):
            raise entry.error(f"values of categorical slot '{name}' must be a list", "values")
        values = tuple("null" if v is None else str(v) for v in raw_values)
    min_value, max_value = spec.get("min_value", 0.0), spec.get("max_value", 1.0)
    if kind == "float":
        for key, number in (("min_value", min_value), ("max_value", max_value)):
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise entry.error(f"{key} of slot '{name}' must be a number", key)
        if min_value > max_value:
            raise entry.error(f"slot '{name}' has min_value above max_value", "min_value")
    slot = Slot(name=name, type=kind, mappings=tuple(mappings), influence_conversation=influence,
                initial_value=spec.get("initial_value"), values=values,
                min_value=float(min_value), max_value=float(max_value))
    raw = {k: v for k, v in spec.items() if k != "auto_fill"}
    raw["mappings"] = mapping_dicts
    return slot, raw


def _rasa2_default_mappings(name: str, entry: Entry, spec: dict, entity_names: set[str],
                            warnings: list[str]) -> list[dict]:
    # Rasa 3 requires mappings; a Rasa 2.x slot without them was auto-filled from the entity
    # of the same name (unless auto_fill: false), as `rasa data migrate` spells out.
    if name in entity_names and spec.get("auto_fill", True) is not False:
        warnings.append(f"{entry.source}: slot '{name}' has no mappings (Rasa 2.x); Carebot "
                        f"fills it from entity '{name}' as Rasa 2 did; add 'mappings: "
                        f"[{{type: from_entity, entity: {name}}}]' to say so")
        return [{"type": "from_entity", "entity": name}]
    return [{"type": "custom"}]


def _names(entry: Entry, value: Any, path: tuple, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise entry.error(f"'{key}' must be an intent name or a list of intent names", *path, key)


def _mapping(entry: Entry, mapping: Any, path: tuple, slot: str) -> SlotMapping:
    if not isinstance(mapping, dict):
        raise entry.error(f"each mapping of slot '{slot}' must be a mapping with a type:", *path)
    kind = mapping.get("type")
    if kind not in MAPPING_KEYS:
        raise entry.error(f"slot '{slot}' has a mapping of unknown type {kind!r}; use one of "
                          f"{', '.join(MAPPING_KEYS)}", *path, "type")
    entry.doc.check_keys(mapping, ("type", *MAPPING_KEYS[kind]), *entry.path, *path,
                         where=f"a {kind} mapping")
    if kind == "from_entity" and not mapping.get("entity"):
        raise entry.error(f"the from_entity mapping of slot '{slot}' needs entity:", *path)
    if kind in ("from_intent", "from_trigger_intent") and mapping.get("value") is None:
        raise entry.error(f"the {kind} mapping of slot '{slot}' needs value:", *path)
    conditions = mapping.get("conditions") or []
    if not isinstance(conditions, list):
        raise entry.error("conditions must be a list of '- active_loop: form_name'",
                          *path, "conditions")
    parsed: list[MappingCondition] = []
    for i, condition in enumerate(conditions):
        entry.doc.check_keys(condition, CONDITION_KEYS, *entry.path, *path, "conditions", i,
                             where="a mapping condition")
        parsed.append(MappingCondition(active_loop=condition.get("active_loop"),
                                       requested_slot=condition.get("requested_slot")))
    return SlotMapping(
        type=kind,
        entity=mapping.get("entity"),
        role=mapping.get("role"),
        group=mapping.get("group"),
        intent=_names(entry, mapping.get("intent"), path, "intent"),
        not_intent=_names(entry, mapping.get("not_intent"), path, "not_intent"),
        value=mapping.get("value"),
        action=mapping.get("action"),
        conditions=tuple(parsed),
    )
