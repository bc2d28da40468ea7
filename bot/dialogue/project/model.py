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
# Carebot's extensions, documented in docs/rasa-project.md; a rule or story names them like
# any action.
ACTION_HANDOFF = "action_handoff"  # hand the conversation to a person now
ACTION_OFFER_HANDOFF = "action_offer_handoff"  # ask whether the customer wants a person
# utter_default, and from the Nth misunderstanding in a row the offer of a person instead
ACTION_FALLBACK_OFFER_HANDOFF = "action_fallback_offer_handoff"
CAREBOT_ACTIONS = (ACTION_HANDOFF, ACTION_OFFER_HANDOFF, ACTION_FALLBACK_OFFER_HANDOFF)

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
    # -- added by the project loader (bot.dialogue.project.loader) --
    e2e_actions: list[str] = field(default_factory=list)  # end-to-end bot texts (e2e_actions:)
    send_domain: set[str] = field(default_factory=set)  # actions listed with send_domain: true
    # where each item was written, for messages: "intent:greet", "slot:email", "response:...",
    # "form:...", "action:...", "entity:..." -> SourceRef (defaults Rasa adds have none)
    sources: dict[str, SourceRef] = field(default_factory=dict)

    @property
    def action_names(self) -> list[str]:
        """Every action the policies may predict: defaults, responses, forms, custom, and
        ``utter_<intent>`` for each retrieval intent (answered by the ResponseSelector)."""
        return list(self._kept_action_names()[0])

    @property
    def action_name_set(self) -> frozenset[str]:
        """:attr:`action_names` as a set."""
        return self._kept_action_names()[1]

    def _kept_action_names(self) -> tuple[tuple[str, ...], frozenset[str]]:
        # The policies ask for the names at every prediction: they are kept while the parts
        # they are made of are the same objects of the same sizes. A domain is built once per
        # project load; an edit in place that keeps a part's size (one response swapped for
        # another) is not seen.
        key = (id(self.responses), len(self.responses), id(self.forms), len(self.forms),
               id(self.actions), len(self.actions), id(self.intents), len(self.intents))
        kept = self.__dict__.get("_action_names")
        if kept is None or kept[0] != key:
            retrieval = [f"utter_{intent}" for intent in self.retrieval_intents]
            names = tuple(dict.fromkeys([*DEFAULT_ACTIONS, *CAREBOT_ACTIONS, *self.responses,
                                         *self.forms, *self.actions, *retrieval]))  # in order
            kept = (key, names, frozenset(names))
            self.__dict__["_action_names"] = kept
        return kept[1], kept[2]

    def is_known_action(self, name: str) -> bool:
        return name in self.action_name_set

    @property
    def retrieval_intents(self) -> list[str]:
        """Intents such as ``faq`` whose answers are ``utter_faq/<sub-intent>`` responses."""
        return [name for name, intent in self.intents.items() if intent.is_retrieval_intent]

    def retrieval_responses(self, intent: str) -> dict[str, list[ResponseVariation]]:
        """``utter_faq/ask_price`` -> variations, for retrieval intent ``faq``."""
        prefix = f"utter_{intent}/"
        return {name: v for name, v in self.responses.items() if name.startswith(prefix)}

    @property
    def overridden_default_actions(self) -> list[str]:
        """Default (or Carebot) actions the project lists under ``actions:``: as in Rasa, the
        project's own implementation (its action server / actions package) replaces the
        built-in one (e.g. financial-demo's ``action_session_start``)."""
        builtin = set(DEFAULT_ACTIONS) | set(CAREBOT_ACTIONS)
        return [name for name in self.actions if name in builtin]

    def used_entities(self, intent: str) -> set[str]:
        """Entity labels that count for the dialogue state after ``intent``, as Rasa computes
        ``used_entities``: ``use_entities``/``ignore_entities`` of the intent, entities with
        ``influence_conversation: false`` left out by default, and ``entity#role`` /
        ``entity#group`` labels for roles and groups of the included entities."""
        spec = self.intents.get(intent) or Intent(intent)
        default_ignored = {n for n, e in self.entities.items() if not e.influence_conversation}
        included = set(self.entities) if spec.use_entities is None else set(spec.use_entities)
        ignored = set(spec.ignore_entities) or default_ignored
        labels: set[str] = set()
        for name in included - ignored:
            labels.add(name)
            entity = self.entities.get(name)
            if entity:
                labels.update(f"{name}#{sub}" for sub in (*entity.roles, *entity.groups))
        return labels

    def story_slot_value(self, name: str, value: Any) -> Any:
        """The value a ``slot_was_set`` step stands for in training, as Rasa reads it: a slot
        named without a value is ``"filled"`` (text), ``True`` (bool), else None."""
        if value is not MISSING:
            return value
        slot = self.slots.get(name)
        return {"text": "filled", "bool": True}.get(slot.type) if slot else None

    def source(self, kind: str, name: str) -> SourceRef | None:
        """Where ``kind`` ("intent", "slot", "response", "form", "action", "entity") ``name``
        was written, when the project wrote it (defaults Rasa adds have no source)."""
        return self.sources.get(f"{kind}:{name}")


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
    # -- added by the project loader --
    path: Path | None = None  # the config.yml read (None: the project has none)

    def policy(self, name: str) -> Component | None:
        """The first policy called ``name`` (e.g. "RulePolicy"), if config.yml lists it."""
        return next((p for p in self.policies if p.name == name), None)

    def max_history(self, default: int = 5) -> int:
        """The longest ``max_history`` any policy sets (Rasa's conflict check uses it)."""
        values = [p.options["max_history"] for p in self.policies
                  if isinstance(p.options.get("max_history"), int)]
        return max(values) if values else default


@dataclass
class Endpoints:
    action_endpoint_url: str | None = None
    action_endpoint_token: str | None = None
    other: dict = field(default_factory=dict)  # tracker_store, lock_store...: reported, not used
    # -- added by the project loader --
    # action_endpoint's other keys Rasa's EndpointConfig takes: token_name, headers, params,
    # basic_auth, cafile, timeout
    action_endpoint_options: dict = field(default_factory=dict)


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
    # -- added by the project loader --
    # one line each ("path:line: what; what to do"): things Carebot reads but does not use
    # (credentials.yml channels, endpoints.yml stores), duplicates across domain files...
    warnings: list[str] = field(default_factory=list)
    domain_files: list[Path] = field(default_factory=list)  # in the order they were merged
    story_files: list[Path] = field(default_factory=list)  # data/** files with stories/rules
    test_files: list[Path] = field(default_factory=list)  # tests/** files with test stories

    @property
    def rules(self) -> list[Story]:
        return [s for s in self.stories if s.kind == "rule"]

    @property
    def training_stories(self) -> list[Story]:
        """The stories (not rules) from data/**."""
        return [s for s in self.stories if s.kind == "story"]
