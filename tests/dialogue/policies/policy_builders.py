"""Small builders for domains, stories and conversations in policy tests."""

from __future__ import annotations

from bot.dialogue.project.model import (
    ActionStep,
    ActiveLoopStep,
    Component,
    Domain,
    EntityDef,
    Form,
    Intent,
    ResponseVariation,
    Slot,
    SlotMapping,
    SlotStep,
    Story,
    UserStep,
)


def domain(
    intents: list[str | Intent],
    responses: list[str] = (),
    actions: list[str] = (),
    slots: list[Slot] = (),
    forms: list[Form] = (),
    entities: list[str | EntityDef] = (),
) -> Domain:
    intent_defs = {}
    for intent in intents:
        intent = intent if isinstance(intent, Intent) else Intent(intent)
        intent_defs[intent.name] = intent
    entity_defs = {}
    for entity in entities:
        entity = entity if isinstance(entity, EntityDef) else EntityDef(entity)
        entity_defs[entity.name] = entity
    return Domain(
        intents=intent_defs,
        entities=entity_defs,
        slots={s.name: s for s in slots},
        forms={f.name: f for f in forms},
        responses={r: [ResponseVariation(text=r)] for r in responses},
        actions=list(actions),
    )


def text_slot(name: str, entity: str | None = None, influence: bool = True) -> Slot:
    mappings = (SlotMapping("from_entity", entity=entity),) if entity else (SlotMapping("custom"),)
    return Slot(name, "text", mappings, influence_conversation=influence)


def user(intent: str, **entities) -> UserStep:
    return UserStep(intent, tuple({"entity": k, "value": v} for k, v in entities.items()))


def act(name: str) -> ActionStep:
    return ActionStep(name)


def slot(name: str, value) -> SlotStep:
    return SlotStep(((name, value),))


def loop(name: str | None) -> ActiveLoopStep:
    return ActiveLoopStep(name)


def story(name: str, *steps) -> Story:
    return Story(name, "story", list(steps))


def rule(name: str, *steps, condition=(), conversation_start=False, wait_for_user_input=True) -> Story:
    return Story(name, "rule", list(steps), condition=list(condition),
                 conversation_start=conversation_start, wait_for_user_input=wait_for_user_input)


def policies(*names_and_options) -> list[Component]:
    out = []
    for item in names_and_options:
        name, options = (item, {}) if isinstance(item, str) else item
        out.append(Component(name, options))
    return out


# -- conversations as the runtime records them ------------------------------------------


def said(intent: str, confidence: float = 1.0, **entities) -> list[dict]:
    """action_listen, then the user's message (the runtime listens before each one)."""
    return [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": intent, "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [{"entity": k, "value": v} for k, v in entities.items()]}},
    ]


def ran(name: str, **extra) -> dict:
    return {"event": "action", "name": name, **extra}


def slot_set(name: str, value) -> dict:
    return {"event": "slot", "name": name, "value": value}


def session_start() -> list[dict]:
    return [ran("action_session_start"), {"event": "session_started"}]
