"""Turn merged domain entries into the :class:`Domain` the dialogue core uses."""

from __future__ import annotations

import copy
from typing import Any

from bot.dialogue.project.domain_merge import Entry, MergedDomain
from bot.dialogue.project.domain_slots import read_forms, read_slots
from bot.dialogue.project.model import (
    DEFAULT_INTENTS,
    Domain,
    EntityDef,
    Intent,
    ResponseCondition,
    ResponseVariation,
    SessionConfig,
)

INTENT_KEYS = ("use_entities", "ignore_entities", "is_retrieval_intent")
ENTITY_KEYS = ("roles", "groups", "influence_conversation")
VARIATION_KEYS = (
    "id", "text", "image", "custom", "buttons", "button_type", "quick_replies", "attachment",
    "elements", "channel", "metadata", "condition",
)
EXTRA_VARIATION_KEYS = ("id", "button_type", "quick_replies", "elements", "metadata")
CONDITION_KEYS = ("type", "name", "value")
SESSION_KEYS = ("session_expiration_time", "carry_over_slots_to_new_session")
ACTION_KEYS = ("send_domain",)


def build_domain(merged: MergedDomain, retrieval_intents: set[str],
                 data_responses: dict[str, Entry], warnings: list[str]) -> Domain:
    """``retrieval_intents``: names like ``faq`` found in NLU data (``intent: faq/ask``);
    ``data_responses``: ``responses:`` found in data/** files (Rasa merges them in)."""
    sections = merged.sections
    responses_entries = dict(sections["responses"])
    for name, entry in data_responses.items():
        responses_entries.setdefault(name, entry)
    entities = {name: _entity(entry) for name, entry in sections["entities"].items()}
    intents = {name: _intent(entry) for name, entry in sections["intents"].items()}
    for name in DEFAULT_INTENTS:
        intents.setdefault(name, Intent(name))
    retrieval = set(retrieval_intents) | {
        name[len("utter_"):].split("/", 1)[0] for name in responses_entries
        if name.startswith("utter_") and "/" in name}
    for name in sorted(retrieval):
        base = intents.get(name, Intent(name))
        intents[name] = Intent(name, base.use_entities, base.ignore_entities, True)
    forms, form_mappings = read_forms(sections["forms"])
    slots, raw_slots = read_slots(sections["slots"], set(entities), form_mappings, forms,
                                  warnings)
    responses = {name: _variations(entry) for name, entry in responses_entries.items()}
    actions, send_domain = _actions(sections["actions"], responses, forms)
    session = _session(merged.session_config)
    sources = {}
    for kind, section in (("intent", "intents"), ("entity", "entities"), ("slot", "slots"),
                          ("form", "forms"), ("action", "actions")):
        sources.update({f"{kind}:{n}": e.source for n, e in sections[section].items()})
    sources.update({f"response:{n}": e.source for n, e in responses_entries.items()})
    raw = _raw(merged, raw_slots, forms, responses_entries, session)
    return Domain(
        intents=intents, entities=entities, slots=slots, forms=forms, responses=responses,
        actions=actions, session_config=session, raw=raw,
        e2e_actions=[str(e.value if e.value is not None else n)
                     for n, e in sections["e2e_actions"].items()],
        send_domain=send_domain, sources=sources,
    )


def _entity(entry: Entry) -> EntityDef:
    item = entry.doc.data["entities"][entry.path[-1]]
    if not isinstance(item, dict):
        return EntityDef(entry.name)
    if entry.value is None:  # "- city:" with nothing after the colon
        raise entry.error(f"entity '{entry.name}' has a ':' but no settings; remove the ':' "
                          "or add roles:, groups: or influence_conversation:")
    spec = entry.value
    entry.doc.check_keys(spec, ENTITY_KEYS, *entry.path, entry.name,
                         where=f"entity '{entry.name}'")
    influence = spec.get("influence_conversation", True)
    if not isinstance(influence, bool):
        raise entry.error("influence_conversation must be true or false", entry.name)
    return EntityDef(entry.name, _strings(entry, spec.get("roles"), "roles"),
                     _strings(entry, spec.get("groups"), "groups"), influence)


def _intent(entry: Entry) -> Intent:
    item = entry.doc.data["intents"][entry.path[-1]]
    if not isinstance(item, dict):
        return Intent(entry.name)
    spec = entry.value
    if spec is None:
        raise entry.error(f"intent '{entry.name}' has a ':' but no settings; remove the ':' or "
                          "add use_entities: / ignore_entities:")
    if isinstance(spec, dict) and "triggers" in spec:
        raise entry.error("'triggers' was removed in Rasa 2.0; write a rule that runs the "
                          "action after this intent", entry.name, "triggers")
    entry.doc.check_keys(spec, INTENT_KEYS, *entry.path, entry.name,
                         where=f"intent '{entry.name}'")
    use = spec.get("use_entities", True)
    if use is True or use is None and "use_entities" not in spec:
        use_entities = None
    elif not use:
        use_entities = ()
    else:
        use_entities = _strings(entry, use, "use_entities")
    ignore = spec.get("ignore_entities") or ()
    return Intent(entry.name, use_entities, _strings(entry, ignore, "ignore_entities"),
                  bool(spec.get("is_retrieval_intent", False)))


def _strings(entry: Entry, value: Any, key: str) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise entry.error(f"'{key}' must be a list of names", entry.name, key)


def _variations(entry: Entry) -> list[ResponseVariation]:
    if not isinstance(entry.value, list) or not entry.value:
        raise entry.error(f"response '{entry.name}' must be a list of variations "
                          "('- text: ...')")
    variations = []
    for i, spec in enumerate(entry.value):
        entry.doc.check_keys(spec, VARIATION_KEYS, *entry.path, i,
                             where=f"response '{entry.name}'")
        if spec.get("text") is None and not spec.get("custom"):
            raise entry.error(f"response '{entry.name}' has a variation without text: or "
                              "custom:; add one of them", i)
        buttons = spec.get("buttons") or []
        if not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons):
            raise entry.error("buttons must be a list of '- title: ... payload: ...'",
                              i, "buttons")
        conditions = []
        for j, condition in enumerate(spec.get("condition") or []):
            entry.doc.check_keys(condition, CONDITION_KEYS, *entry.path, i, "condition", j,
                                 where="a response condition")
            if condition.get("type") != "slot" or not condition.get("name"):
                raise entry.error("a response condition needs 'type: slot' and the slot's "
                                  "name:", i, "condition", j)
            conditions.append(ResponseCondition("slot", str(condition["name"]),
                                                condition.get("value")))
        channel = spec.get("channel")
        variations.append(ResponseVariation(
            text=None if spec.get("text") is None else str(spec["text"]),
            buttons=tuple(dict(b) for b in buttons),
            image=spec.get("image"),
            custom=spec.get("custom"),
            attachment=spec.get("attachment"),
            condition=tuple(conditions),
            channel=None if channel is None else str(channel),
            extra={k: spec[k] for k in EXTRA_VARIATION_KEYS if k in spec},
        ))
    return variations


def _actions(entries: dict[str, Entry], responses: dict, forms: dict) -> tuple[list[str], set]:
    actions: list[str] = []
    send_domain: set[str] = set()
    for name, entry in entries.items():
        if entry.value is not None:
            entry.doc.check_keys(entry.value, ACTION_KEYS, *entry.path, name,
                                 where=f"action '{name}'")
            if entry.value.get("send_domain") is True:
                send_domain.add(name)
        # as in Rasa: a listed form or response stays a form or response, not a custom action
        if name not in forms and name not in responses:
            actions.append(name)
    return actions, send_domain


def _session(entry: Entry | None) -> SessionConfig:
    if entry is None:
        return SessionConfig()
    spec = entry.value
    entry.doc.check_keys(spec, SESSION_KEYS, *entry.path, where="session_config")
    minutes = spec.get("session_expiration_time", 60)
    if minutes is None:
        minutes = 60
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes < 0:
        raise entry.error("session_expiration_time must be a number of minutes (0: sessions "
                          "never expire)", "session_expiration_time")
    carry = spec.get("carry_over_slots_to_new_session", True)
    if not isinstance(carry, bool):
        raise entry.error("carry_over_slots_to_new_session must be true or false",
                          "carry_over_slots_to_new_session")
    return SessionConfig(float(minutes), carry)


def _raw(merged: MergedDomain, raw_slots: dict, forms: dict, responses: dict[str, Entry],
         session: SessionConfig) -> dict:
    """The merged domain in Rasa 3 shape, as Rasa sends it to an action server."""
    sections = merged.sections

    def items(section: str) -> list:
        return [n if e.value is None else {n: copy.deepcopy(e.value)}
                for n, e in sections[section].items()]

    raw: dict[str, Any] = {"version": merged.version or "3.1"}
    raw["intents"] = items("intents")
    raw["entities"] = items("entities")
    raw["slots"] = copy.deepcopy(raw_slots)
    raw["forms"] = {name: {"required_slots": list(form.required_slots),
                           **({"ignored_intents": list(form.ignored_intents)}
                              if form.ignored_intents else {})}
                    for name, form in forms.items()}
    raw["responses"] = {name: copy.deepcopy(e.value) for name, e in responses.items()}
    raw["actions"] = items("actions")
    raw["e2e_actions"] = [n for n in sections["e2e_actions"]]
    raw["session_config"] = {"session_expiration_time": session.expiration_minutes,
                             "carry_over_slots_to_new_session": session.carry_over_slots}
    if merged.config:
        raw["config"] = dict(merged.config)
    return {k: v for k, v in raw.items() if v not in ({}, [], None) or k == "session_config"}
