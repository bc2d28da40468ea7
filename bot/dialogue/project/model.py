"""What a Rasa 3.x project is made of, as the dialogue core sees it once its files are read.

These dataclasses are the contract between the project loader (``bot.dialogue.project``),
the policies (``bot.dialogue.policies``) and the runtime (``bot.dialogue.processor``). They
carry Rasa's meaning, not Carebot's: nothing here names an intent of a particular bot.
Conversations themselves are lists of events in Rasa's JSON shape
(``{"event": "user", "parse_data": {...}}``, ``{"event": "action", "name": ...}``,
``{"event": "slot", "name": ..., "value": ...}``, ``{"event": "active_loop", "name": ...}``);
see ``bot.dialogue.events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Rasa's default actions: always in the domain, whatever the project lists.
ACTION_LISTEN = "action_listen"
ACTION_RESTART = "action_restart"
ACTION_SESSION_START = "action_session_start"
ACTION_DEFAULT_FALLBACK = "action_default_fallback"
ACTION_DEACTIVATE_LOOP = "action_deactivate_loop"
ACTION_REVERT_FALLBACK_EVENTS = "action_revert_fallback_events"
ACTION_DEFAULT_ASK_AFFIRMATION = "action_default_ask_affirmation"
ACTION_DEFAULT_ASK_REPHRASE = "action_default_ask_rephrase"
ACTION_TWO_STAGE_FALLBACK = "action_two_stage_fallback"
ACTION_UNLIKELY_INTENT = "action_unlikely_intent"
ACTION_BACK = "action_back"
ACTION_EXTRACT_SLOTS = "action_extract_slots"
DEFAULT_ACTIONS = (
    ACTION_LISTEN, ACTION_RESTART, ACTION_SESSION_START, ACTION_DEFAULT_FALLBACK,
    ACTION_DEACTIVATE_LOOP, ACTION_REVERT_FALLBACK_EVENTS, ACTION_DEFAULT_ASK_AFFIRMATION,
    ACTION_DEFAULT_ASK_REPHRASE, ACTION_TWO_STAGE_FALLBACK, ACTION_UNLIKELY_INTENT,
    ACTION_BACK, ACTION_EXTRACT_SLOTS,
)
# Carebot's extension: hand the conversation to a person (documented in docs/rasa.md).
ACTION_HANDOFF = "action_handoff"
CAREBOT_ACTIONS = (ACTION_HANDOFF,)

# Rasa's default intents (added to every domain).
DEFAULT_INTENTS = ("restart", "back", "out_of_scope", "session_start", "nlu_fallback")
REQUESTED_SLOT = "requested_slot"
SESSION_STARTED_METADATA_SLOT = "session_started_metadata"

SlotType = Literal["text", "bool", "categorical", "float", "list", "any"]
MappingType = Literal["from_entity", "from_text", "from_intent", "from_trigger_intent", "custom"]


@dataclass(frozen=True)
class SourceRef:
    """Where something was written, for errors: ``path:line``."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class MappingCondition:
    active_loop: str | None  # None: "no loop active" only when written as ``active_loop: null``
    requested_slot: str | None = None


@dataclass(frozen=True)
class SlotMapping:
    type: MappingType
    entity: str | None = None
    role: str | None = None
    group: str | None = None
    intent: tuple[str, ...] = ()  # empty: any intent
    not_intent: tuple[str, ...] = ()
    value: Any = None  # from_intent / from_trigger_intent
    action: str | None = None  # custom: the action that fills it (None: validate_<form>)
    conditions: tuple[MappingCondition, ...] = ()


@dataclass(frozen=True)
class Slot:
    name: str
    type: SlotType
    mappings: tuple[SlotMapping, ...] = ()
    influence_conversation: bool = True  # Rasa's default ("any" never influences)
    initial_value: Any = None
    values: tuple[str, ...] = ()  # categorical; Rasa adds "__other__"
    min_value: float = 0.0  # float
    max_value: float = 1.0


@dataclass(frozen=True)
class Form:
    name: str
    required_slots: tuple[str, ...]
    ignored_intents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResponseCondition:
    type: str  # "slot"
    name: str
    value: Any


@dataclass(frozen=True)
class ResponseVariation:
    text: str | None = None
    buttons: tuple[dict, ...] = ()
    image: str | None = None
    custom: Any = None
    attachment: Any = None
    condition: tuple[ResponseCondition, ...] = ()
    channel: str | None = None
    extra: dict = field(default_factory=dict)  # other keys Rasa passes through (button_type...)


@dataclass(frozen=True)
class Intent:
    name: str
    use_entities: tuple[str, ...] | None = None  # None: all entities
    ignore_entities: tuple[str, ...] = ()
    is_retrieval_intent: bool = False


@dataclass(frozen=True)
class EntityDef:
    name: str
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    influence_conversation: bool = True


@dataclass(frozen=True)
class SessionConfig:
    expiration_minutes: float = 60.0  # 0: sessions never expire
    carry_over_slots: bool = True


@dataclass
class Domain:
    intents: dict[str, Intent]
    entities: dict[str, EntityDef]
    slots: dict[str, Slot]
    forms: dict[str, Form]
    responses: dict[str, list[ResponseVariation]]
    actions: list[str]  # the project's custom actions (validate_<form> included), in order
    session_config: SessionConfig = field(default_factory=SessionConfig)
    raw: dict = field(default_factory=dict)  # merged domain as Rasa sends it to action servers

    @property
    def action_names(self) -> list[str]:
        """Every action the policies may predict: defaults, responses, forms, custom."""
        names = list(DEFAULT_ACTIONS) + list(CAREBOT_ACTIONS)
        for name in [*self.responses, *self.forms, *self.actions]:
            if name not in names:
                names.append(name)
        return names

    def is_known_action(self, name: str) -> bool:
        return name in self.action_names


# -- stories, rules and test stories -----------------------------------------------------


@dataclass(frozen=True)
class UserStep:
    intent: str | None  # None in a test story that gives only text
    entities: tuple[dict, ...] = ()  # {"entity", "value"?, "role"?, "group"?}
    text: str | None = None  # test stories / e2e: the message as the user typed it
    source: SourceRef | None = None


@dataclass(frozen=True)
class ActionStep:
    name: str
    source: SourceRef | None = None


@dataclass(frozen=True)
class BotStep:
    text: str  # end-to-end "bot:" step
    source: SourceRef | None = None


@dataclass(frozen=True)
class SlotStep:
    slots: tuple[tuple[str, Any], ...]  # (name, value); value MISSING: "set to anything"
    source: SourceRef | None = None


@dataclass(frozen=True)
class ActiveLoopStep:
    name: str | None  # None: the loop ended (``active_loop: null``)
    source: SourceRef | None = None


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # a slot_was_set step that names the slot without a value

Step = UserStep | ActionStep | BotStep | SlotStep | ActiveLoopStep


@dataclass
class Story:
    """One story, rule or test story with ``or`` and checkpoints already expanded: a straight
    line of steps. A story with N ``or`` alternatives becomes N Story objects."""

    name: str
    kind: Literal["story", "rule", "test"]
    steps: list[Step]
    source: SourceRef | None = None
    # rules only
    condition: list[SlotStep | ActiveLoopStep] = field(default_factory=list)
    conversation_start: bool = False
    wait_for_user_input: bool = True


# -- config.yml ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One entry of config.yml's pipeline or policies: its name and its other keys."""

    name: str
    options: dict
    source: SourceRef | None = None


@dataclass
class RasaConfig:
    recipe: str = "default.v1"
    language: str = "en"
    assistant_id: str | None = None
    pipeline: list[Component] = field(default_factory=list)  # empty: Rasa's suggested default
    policies: list[Component] = field(default_factory=list)  # empty: Rasa's suggested default


@dataclass
class Endpoints:
    action_endpoint_url: str | None = None
    action_endpoint_token: str | None = None
    other: dict = field(default_factory=dict)  # tracker_store, lock_store...: reported, not used


@dataclass
class RasaProject:
    root: Path
    config: RasaConfig
    domain: Domain
    nlu_files: list[Path]  # every data/** file holding nlu:, synonyms, regexes or lookups
    stories: list[Story]  # stories and rules from data/** (expanded)
    test_stories: list[Story]  # tests/test_*.yml (expanded)
    endpoints: Endpoints = field(default_factory=Endpoints)
    credentials: dict = field(default_factory=dict)  # channel name -> its settings
    actions_package: Path | None = None  # <root>/actions when it exists

    @property
    def rules(self) -> list[Story]:
        return [s for s in self.stories if s.kind == "rule"]
