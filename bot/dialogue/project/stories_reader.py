"""Read the stories, rules and test stories of one YAML file into blocks of raw steps.

A block is one story or rule as written: its steps may still contain ``or`` alternatives and
checkpoints, which :mod:`bot.dialogue.project.story_expansion` turns into straight lines.
The step keys are Rasa's (rasa/shared/utils/schemas/stories.yml); anything else is an
error naming file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.dialogue.project.annotations import AnnotationError, parse_annotated, parse_intent_payload
from bot.dialogue.project.model import (
    MISSING,
    ActionStep,
    ActiveLoopStep,
    BotStep,
    SlotStep,
    SourceRef,
    Step,
    UserStep,
)
from nlp.yamlfile import BotFileError, YamlDoc

STORY_KEYS = ("story", "steps", "metadata")
RULE_KEYS = ("rule", "steps", "metadata", "condition", "conversation_start",
             "wait_for_user_input")
USER_KEYS = ("intent", "user", "entities", "metadata")
STEP_KEYS = {
    "action": ("action", "metadata"),
    "bot": ("bot", "metadata"),
    "slot_was_set": ("slot_was_set", "metadata"),
    "active_loop": ("active_loop", "metadata"),
    "checkpoint": ("checkpoint", "slot_was_set"),
    "or": ("or",),
}
STORY_STEP_KINDS = ("user", "or", "action", "bot", "checkpoint", "slot_was_set", "active_loop")
RULE_STEP_KINDS = ("user", "or", "action", "slot_was_set", "active_loop")
CONDITION_KINDS = ("slot_was_set", "active_loop")


@dataclass
class OrStep:
    alternatives: list[Step]
    source: SourceRef


@dataclass
class Checkpoint:
    name: str
    slots: dict
    source: SourceRef


RawStep = Step | OrStep | Checkpoint


@dataclass
class Block:
    name: str
    kind: Literal["story", "rule", "test"]
    source: SourceRef
    steps: list[RawStep]
    condition: list[SlotStep | ActiveLoopStep] = field(default_factory=list)
    conversation_start: bool = False
    wait_for_user_input: bool = True


def read_blocks(doc: YamlDoc, test: bool, warnings: list[str]) -> list[Block]:
    """Every story and rule of ``doc`` (a file already known to hold stories:/rules:)."""
    blocks: list[Block] = []
    for section, kind in (("stories", "story"), ("rules", "rule")):
        items = doc.data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            raise doc.error(f"'{section}' must be a list of '- {kind}: name' items", section)
        for i, item in enumerate(items):
            block = _block(doc, section, i, item, kind, test, warnings)
            if block is not None:
                blocks.append(block)
    return blocks


def _block(doc: YamlDoc, section: str, i: int, item: Any, kind: str, test: bool,
           warnings: list[str]) -> Block | None:
    where = (section, i)
    if not isinstance(item, dict) or kind not in item:
        raise doc.error(f"each item of '{section}' must start with '{kind}: <name>'", *where)
    doc.check_keys(item, STORY_KEYS if kind == "story" else RULE_KEYS, *where, where=f"a {kind}")
    source = SourceRef(doc.path, doc.line_of(*where))
    name = item.get(kind)
    if name is None or not str(name).strip():
        warnings.append(f"{source}: a {kind} without a name; give it one after '{kind}:'")
        name = f"{kind} at line {source.line}"
    name = str(name)
    steps = item.get("steps")
    if not steps:
        warnings.append(f"{source}: {kind} '{name}' has no steps and is left out")
        return None
    if not isinstance(steps, list):
        raise doc.error(f"the steps of {kind} '{name}' must be a list", *where, "steps")
    kinds = STORY_STEP_KINDS if kind == "story" else RULE_STEP_KINDS
    block = Block(name=name, kind="test" if test else kind, source=source,
                  steps=[_step(doc, (*where, "steps", j), step, kinds, f"{kind} '{name}'")
                         for j, step in enumerate(steps)])
    block.steps = [s for s in block.steps if s is not None]
    if kind == "rule":
        conditions = item.get("condition") or []
        if not isinstance(conditions, list):
            raise doc.error("a rule's condition must be a list of active_loop / slot_was_set "
                            "steps", *where, "condition")
        block.condition = [_step(doc, (*where, "condition", j), c, CONDITION_KINDS,
                                 f"the condition of rule '{name}'")
                           for j, c in enumerate(conditions)]
        for key in ("conversation_start", "wait_for_user_input"):
            if key in item and not isinstance(item[key], bool):
                raise doc.error(f"{key} must be true or false", *where, key)
        block.conversation_start = item.get("conversation_start", False)
        block.wait_for_user_input = item.get("wait_for_user_input", True)
    return block


def _step_kind(step: dict) -> str | None:
    if "intent" in step or "user" in step:
        return "user"
    for kind in ("or", "action", "checkpoint", "slot_was_set", "active_loop", "bot"):
        if kind in step:
            return kind
    return None


def _step(doc: YamlDoc, path: tuple, step: Any, kinds: tuple[str, ...], where: str):
    source = SourceRef(doc.path, doc.line_of(*path))
    if not isinstance(step, dict):
        raise doc.error(f"a step of {where} must be a mapping such as '- intent: greet' or "
                        "'- action: utter_greet'", *path)
    kind = _step_kind(step)
    if kind is None:
        if set(step) == {"metadata"}:
            return None
        raise doc.error(f"unknown step in {where}: {', '.join(map(str, step))}; a step is "
                        f"one of: {', '.join(k if k != 'user' else 'intent/user' for k in kinds)}",
                        *path)
    if kind not in kinds:
        raise doc.error(f"'{kind}' steps are not allowed in {where}; use one of: "
                        f"{', '.join(k if k != 'user' else 'intent/user' for k in kinds)}",
                        *path, kind if kind != "user" else "intent")
    doc.check_keys(step, USER_KEYS if kind == "user" else STEP_KEYS[kind], *path,
                   where=f"a {kind} step")
    if kind == "user":
        return user_step(doc, path, step, source)
    value = step[kind]
    if kind == "or":
        if not isinstance(value, list) or len(value) < 2:
            raise doc.error("'or' needs a list of at least two alternatives", *path, "or")
        alternatives = [_step(doc, (*path, "or", k), alt, ("user", "slot_was_set"),
                              f"an 'or' of {where}") for k, alt in enumerate(value)]
        return OrStep([a for a in alternatives if a is not None], source)
    if kind == "action":
        if not isinstance(value, str) or not value.strip():
            raise doc.error("'action' needs the name of an action or response", *path, kind)
        return ActionStep(value.strip(), source)
    if kind == "bot":
        if not isinstance(value, str):
            raise doc.error("'bot' needs the text the bot says", *path, kind)
        return BotStep(value.strip(), source)
    if kind == "active_loop":
        if value is not None and not isinstance(value, str):
            raise doc.error("'active_loop' needs a form name, or null when the form ended",
                            *path, kind)
        return ActiveLoopStep(value, source)
    if kind == "checkpoint":
        if not isinstance(value, str) or not value.strip():
            raise doc.error("'checkpoint' needs a name", *path, kind)
        slots = dict(_slot_pairs(doc, (*path, "slot_was_set"), step["slot_was_set"])
                     if step.get("slot_was_set") is not None else [])
        if any(v is MISSING for v in slots.values()):
            raise doc.error("a checkpoint's slot_was_set needs 'slot: value' items",
                            *path, "slot_was_set")
        return Checkpoint(value.strip(), slots, source)
    return SlotStep(tuple(_slot_pairs(doc, (*path, "slot_was_set"), value)), source)


def _slot_pairs(doc: YamlDoc, path: tuple, value: Any) -> list[tuple[str, Any]]:
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        raise doc.error("slot_was_set needs a list of '- slot_name: value' (or '- slot_name')",
                        *path)
    pairs: list[tuple[str, Any]] = []
    for k, item in enumerate(items):
        if isinstance(item, str):
            pairs.append((item, MISSING))
        elif isinstance(item, dict) and item:
            pairs.extend((str(name), v) for name, v in item.items())
        else:
            raise doc.error("each slot_was_set item is '- slot_name: value' or '- slot_name'",
                            *path, k)
    return pairs


def user_step(doc: YamlDoc, path: tuple, step: dict, source: SourceRef) -> UserStep:
    intent = step.get("intent")
    if intent is not None:
        if not isinstance(intent, str) or not intent.strip():
            raise doc.error("'intent' needs an intent name", *path, "intent")
        intent = intent.strip().lstrip("/")  # Rasa drops a leading '/', which is not needed
    text = step.get("user")
    entities: list[dict] = []
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            raise doc.error("'user' needs the message text", *path, "user")
        try:
            text, entities = parse_annotated(text.strip())
            payload = parse_intent_payload(text) if text.startswith("/") else None
        except AnnotationError as exc:
            raise BotFileError(f"{source}: {exc}") from exc
        if payload is not None:
            intent = intent or payload[0]
            entities = payload[1]
    elif intent is None:
        raise doc.error("a user step needs 'intent:' or 'user:'", *path)
    else:
        entities = _story_entities(doc, path, step.get("entities"))
    return UserStep(intent=intent, entities=tuple(entities), text=text, source=source)


def _story_entities(doc: YamlDoc, path: tuple, value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error("'entities' must be a list of '- entity_name: value' items",
                        *path, "entities")
    entities = []
    for k, item in enumerate(value):
        if isinstance(item, str):
            entities.append({"entity": item})
        elif isinstance(item, dict) and "entity" in item:
            entity = {"entity": str(item["entity"])}
            entity.update({key: item[key] for key in ("value", "role", "group") if key in item})
            extra = set(item) - {"entity", "value", "role", "group"}
            if extra:
                raise doc.error(f"unknown keys {sorted(extra)} in an entity; use entity, value, "
                                "role, group", *path, "entities", k)
            entities.append(entity)
        elif isinstance(item, dict) and item:
            # Rasa's story form: "- city: Berlin" plus optional role: / group:
            names = [key for key in item if key not in ("role", "group")]
            if len(names) != 1:
                raise doc.error("each entity is '- entity_name: value' (with optional role: "
                                "and group:)", *path, "entities", k)
            entity = {"entity": str(names[0]), "value": item[names[0]]}
            entity.update({key: item[key] for key in ("role", "group") if key in item})
            entities.append(entity)
        else:
            raise doc.error("each entity is '- entity_name: value' or '- entity_name'",
                            *path, "entities", k)
    return entities
