"""The bot definition: Rasa-format domain.yml and data/rules.yml, loaded and validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlp.types import FALLBACK_INTENT
from nlp.yamlfile import BotFileError, YamlDoc, read_yaml

# Actions the engine itself carries out; every other action_* is a rasa-sdk custom action.
BUILTIN_ACTIONS = {"action_escalate", "action_listen", "action_restart", "action_default_fallback"}

DOMAIN_KEYS = {
    "version", "intents", "entities", "slots", "forms", "responses", "actions", "session_config",
}
SLOT_KEYS = {"type", "values", "mappings", "influence_conversation", "initial_value"}
SLOT_TYPES = {"text", "categorical", "any", "bool", "float", "list"}
MAPPING_KEYS = {"type", "entity", "intent", "not_intent", "value"}
MAPPING_TYPES = {"from_entity", "from_text", "from_intent", "custom"}
FORM_KEYS = {"required_slots"}
RESPONSE_KEYS = {"text", "buttons", "image", "custom", "condition", "channel"}
BUTTON_KEYS = {"title", "payload"}
SESSION_KEYS = {"session_expiration_time", "carry_over_slots_to_new_session"}
RULES_FILE_KEYS = {"version", "rules"}
RULE_KEYS = {"rule", "steps", "condition", "conversation_start", "wait_for_user_input"}
STEP_KEYS = {"intent", "action", "active_loop", "entities", "slot_was_set"}


@dataclass(frozen=True)
class Slot:
    name: str
    type: str
    entity: str | None = None  # filled from this entity when it is seen
    values: tuple[str, ...] = ()
    initial_value: Any = None


@dataclass
class BotDefinition:
    intents: list[str]
    entities: list[str]
    slots: dict[str, Slot]
    forms: dict[str, list[str]]  # form -> required slots, in order
    responses: dict[str, list[dict]]
    actions: list[str]
    intent_rules: dict[str, list[str]] = field(default_factory=dict)  # intent -> actions
    form_submit: dict[str, list[str]] = field(default_factory=dict)  # form -> actions once filled
    raw_domain: dict = field(default_factory=dict)

    def custom_actions(self) -> list[str]:
        return [a for a in self.actions if a not in BUILTIN_ACTIONS]

    def is_known_action(self, name: str) -> bool:
        return name in self.responses or name in self.forms or name in self.actions


def _entries(doc: YamlDoc, value: Any, *key_path) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error("expected a list", *key_path)
    return value


def _names(items: list) -> list[str]:
    # Rasa allows "- greet" and "- greet: {use_entities: ...}"; we keep the names.
    return [next(iter(i)) if isinstance(i, dict) else str(i) for i in items]


def load_domain(path: Path) -> tuple[YamlDoc, BotDefinition]:
    doc = read_yaml(path)
    data = doc.data or {}
    doc.check_keys(data, DOMAIN_KEYS, where="domain")
    slots: dict[str, Slot] = {}
    for name, spec in (data.get("slots") or {}).items():
        doc.check_keys(spec, SLOT_KEYS, "slots", name, where=f"slot '{name}'")
        if spec.get("type") not in SLOT_TYPES:
            raise doc.error(
                f"slot '{name}' has unsupported type {spec.get('type')!r}; "
                f"use one of {', '.join(sorted(SLOT_TYPES))}", "slots", name, "type")
        entity = None
        for i, mapping in enumerate(_entries(doc, spec.get("mappings"), "slots", name, "mappings")):
            doc.check_keys(mapping, MAPPING_KEYS, "slots", name, "mappings", i, where="slot mapping")
            if mapping.get("type") not in MAPPING_TYPES:
                raise doc.error(f"unsupported slot mapping type {mapping.get('type')!r}",
                                "slots", name, "mappings", i, "type")
            if mapping.get("type") == "from_entity":
                entity = mapping.get("entity")
        slots[name] = Slot(name, spec["type"], entity, tuple(spec.get("values") or ()),
                           spec.get("initial_value"))
    forms: dict[str, list[str]] = {}
    for name, spec in (data.get("forms") or {}).items():
        doc.check_keys(spec, FORM_KEYS, "forms", name, where=f"form '{name}'")
        required = _entries(doc, spec.get("required_slots"), "forms", name, "required_slots")
        for slot in required:
            if slot not in slots:
                raise doc.error(f"form '{name}' requires slot '{slot}', which is not in slots",
                                "forms", name, "required_slots")
        forms[name] = list(required)
    responses: dict[str, list[dict]] = {}
    for name, variations in (data.get("responses") or {}).items():
        for i, variation in enumerate(_entries(doc, variations, "responses", name)):
            doc.check_keys(variation, RESPONSE_KEYS, "responses", name, i, where=f"response '{name}'")
            for j, button in enumerate(variation.get("buttons") or []):
                doc.check_keys(button, BUTTON_KEYS, "responses", name, i, "buttons", j, where="button")
        responses[name] = list(variations)
    definition = BotDefinition(
        intents=_names(_entries(doc, data.get("intents"), "intents")),
        entities=_names(_entries(doc, data.get("entities"), "entities")),
        slots=slots,
        forms=forms,
        responses=responses,
        actions=list(_entries(doc, data.get("actions"), "actions")),
        raw_domain=data,
    )
    if FALLBACK_INTENT not in definition.intents:
        definition.intents.append(FALLBACK_INTENT)
    for form, required in forms.items():
        for slot in required:
            if f"utter_ask_{slot}" not in responses:
                raise doc.error(f"form '{form}' needs a response 'utter_ask_{slot}' to ask for "
                                f"slot '{slot}'", "forms", form)
    return doc, definition


def load_rules(path: Path, definition: BotDefinition) -> None:
    """Read data/rules.yml into ``definition`` (intent rules and form-submit rules)."""
    doc = read_yaml(path)
    data = doc.data or {}
    doc.check_keys(data, RULES_FILE_KEYS, where="rules file")
    for i, rule in enumerate(_entries(doc, data.get("rules"), "rules")):
        doc.check_keys(rule, RULE_KEYS, "rules", i, where="rule")
        steps = _entries(doc, rule.get("steps"), "rules", i, "steps")
        for j, step in enumerate(steps):
            doc.check_keys(step, STEP_KEYS, "rules", i, "steps", j, where="rule step")
            action = step.get("action")
            if action and not (definition.is_known_action(action) or action in BUILTIN_ACTIONS):
                raise doc.error(f"rule '{rule.get('rule')}' uses action '{action}', which is not a "
                                "response, form or action in domain.yml", "rules", i, "steps", j)
            intent = step.get("intent")
            if intent and intent not in definition.intents:
                raise doc.error(f"rule '{rule.get('rule')}' uses intent '{intent}', which is not "
                                "in domain.yml", "rules", i, "steps", j)
        condition_loop = next((c.get("active_loop") for c in rule.get("condition") or []
                               if isinstance(c, dict) and "active_loop" in c), None)
        actions = [s["action"] for s in steps if "action" in s]
        if condition_loop:
            # Rasa's form-submit shape: form, active_loop: null, then the actions to run.
            definition.form_submit[condition_loop] = [a for a in actions if a != condition_loop]
            continue
        if not steps or "intent" not in steps[0]:
            raise doc.error("Carebot rules start with an intent step (or have an active_loop "
                            "condition for a form submit)", "rules", i, "steps")
        intent = steps[0]["intent"]
        if intent in definition.intent_rules:
            raise doc.error(f"two rules answer intent '{intent}'; keep one", "rules", i)
        definition.intent_rules[intent] = actions


def load_bot(domain_path: Path, rules_path: Path) -> BotDefinition:
    """Load and validate the bot; raise BotFileError naming file, line and key on problems."""
    _, definition = load_domain(domain_path)
    load_rules(rules_path, definition)
    for form in definition.forms:
        if form not in definition.form_submit:
            raise BotFileError(f"{rules_path}: form '{form}' has no rule saying what to do once it "
                               "is filled (a rule with condition active_loop: " + form + ")")
    return definition
