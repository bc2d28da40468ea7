"""One customer turn through a Rasa project, as Rasa's ``MessageProcessor`` runs it.

start a session if needed -> log the user message -> ``action_extract_slots`` -> predict an
action and run it, again and again, until the policies say ``action_listen``. Every step is
a Rasa event appended to the conversation's events; the bot's messages are its BotUttered
events. Carebot's own features (sentiment escalation, handoff) are documented actions and
settings, never names of a particular bot's intents.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.config import EscalationPolicy
from bot.dialogue import builtin_actions as builtins
from bot.dialogue import events as ev
from bot.dialogue import rasa_events as re_
from bot.dialogue.actions.base import ActionError, ActionRejected
from bot.dialogue.actions.responses import interpolate
from bot.dialogue.forms import FormRejected, FormRunner
from bot.dialogue.project.model import (
    ACTION_BACK,
    ACTION_DEACTIVATE_LOOP,
    ACTION_DEFAULT_ASK_AFFIRMATION,
    ACTION_DEFAULT_ASK_REPHRASE,
    ACTION_DEFAULT_FALLBACK,
    ACTION_EXTRACT_SLOTS,
    ACTION_FALLBACK_OFFER_HANDOFF,
    ACTION_HANDOFF,
    ACTION_LISTEN,
    ACTION_OFFER_HANDOFF,
    ACTION_RESTART,
    ACTION_REVERT_FALLBACK_EVENTS,
    ACTION_SESSION_START,
    ACTION_TWO_STAGE_FALLBACK,
    ACTION_UNLIKELY_INTENT,
    Domain,
)
from bot.dialogue.slot_filling import extract_slots
from bot.dialogue.waiting import QueueStatus, WaitingRoom

logger = logging.getLogger(__name__)

MAX_ACTIONS_PER_TURN = 10  # Rasa's circuit breaker
SENTIMENT_POLICY = "carebot.SentimentEscalation"


class Prediction(Protocol):
    action: str
    confidence: float
    policy_name: str | None


class Policies(Protocol):
    def predict(self, events: list[dict], domain: Domain) -> Prediction: ...


class CustomActions(Protocol):
    async def run(self, action_name: str, tracker: dict, domain: dict) -> Any: ...


@dataclass
class TurnResult:
    events: list[dict] = field(default_factory=list)  # what this turn added, in order
    actions: list[str] = field(default_factory=list)  # actions run, as ActionExecuted names
    handoff: builtins.HandoffRequest | None = None

    @property
    def messages(self) -> list[dict]:
        return [re_.bot_message(e) for e in self.events if e.get("event") == "bot"
                and re_.bot_message(e)]

    @property
    def responses(self) -> list[str]:
        """The responses uttered, by name (``utter_*`` or the action that sent them)."""
        return [(e.get("metadata") or {}).get("utter_action") or "" for e in self.events
                if e.get("event") == "bot"]


# render(response_name, slots, channel, kwargs) -> messages, or None when there is no such
# response in the domain
Render = Callable[[str, dict, str | None, dict], list[dict] | None]
# dispatched(response entry of a custom action, slots, channel) -> messages
RenderDispatched = Callable[[dict, dict, str | None], list[dict]]


@dataclass
class Conversation:
    """What the processor needs to know of the conversation it works on."""

    id: str
    events: list[dict]
    channel: str | None = None
    vip: bool = False
    negative_streak: int = 0
    result: TurnResult = field(default_factory=TurnResult)  # of the turn being run


class MessageProcessor:
    """Runs turns of one Rasa project: its domain, its policies, its actions."""

    # bot/monitoring/abuse.AbuseGuard: slows down, or the reason to hand over (set by the app)
    abuse_guard: Callable[[Conversation], Awaitable[str | None]] | None = None
    # the agents' queue as the customer hears of it (bot/console/waiting.py, set by the console)
    waiting_room: WaitingRoom | None = None

    def __init__(self, domain: Domain, policies: Policies, custom_actions: CustomActions | None,
                 render: Render, render_dispatched: RenderDispatched,
                 escalation: EscalationPolicy | None = None,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.domain = domain
        self.policies = policies
        self.custom_actions = custom_actions
        self._render = render
        self._render_dispatched = render_dispatched
        self.escalation = escalation or EscalationPolicy()
        self.rng = rng or random.Random(0)
        self.clock = clock
        self._builtin: dict[str, Callable[[Conversation], Awaitable[list[dict]]]] = {
            ACTION_LISTEN: self._nothing,
            ACTION_UNLIKELY_INTENT: self._nothing,
            ACTION_RESTART: self._restart,
            ACTION_SESSION_START: self._session_start,
            ACTION_DEFAULT_FALLBACK: self._default_fallback,
            ACTION_DEACTIVATE_LOOP: self._deactivate_loop,
            ACTION_REVERT_FALLBACK_EVENTS: self._revert_fallback_events,
            ACTION_DEFAULT_ASK_AFFIRMATION: self._ask_affirmation,
            ACTION_DEFAULT_ASK_REPHRASE: self._ask_rephrase,
            ACTION_TWO_STAGE_FALLBACK: self._two_stage_fallback,
            ACTION_BACK: self._back,
            ACTION_EXTRACT_SLOTS: self._extract_slots_action,
            ACTION_HANDOFF: self._handoff,
            ACTION_OFFER_HANDOFF: self._offer_handoff,
            ACTION_FALLBACK_OFFER_HANDOFF: self._fallback_offer_handoff,
        }
        self._overridden = set(domain.overridden_default_actions)

    # -- a turn -----------------------------------------------------------------------------

    async def handle_message(self, conversation: Conversation, text: str, parse: dict,
                             *, paused: bool = False, message_id: str | None = None) -> TurnResult:
        """Log the customer's message and, unless a person holds the conversation, answer it."""
        turn = conversation.result = TurnResult()
        if builtins.session_expired(conversation.events,
                                    self.domain.session_config.expiration_minutes, self.clock()):
            await self._run_and_log(conversation, ACTION_SESSION_START, None, None)
            turn.actions.clear()  # the session's start is not the answer to this message
        self._add(conversation, re_.user(text, parse, conversation.channel, message_id))
        if paused:
            # waiting for a person: the customer hears that their message reached the queue
            for event in await self._acknowledge_waiting(conversation, text):
                self._add(conversation, event)
            return turn
        if self._clearly_angry(conversation, parse):
            await self._run_and_log(conversation, ACTION_HANDOFF, SENTIMENT_POLICY, 1.0,
                                    reason="negative_sentiment")
            self._add(conversation, re_.listen())
            return turn
        if self.abuse_guard and (reason := await self.abuse_guard(conversation)):
            await self._run_and_log(conversation, ACTION_HANDOFF, "carebot.AbuseSignals", 1.0,
                                    reason=reason)
            self._add(conversation, re_.listen())
            return turn
        for event in await extract_slots(conversation.events, self.domain,
                                         self._custom_runner(conversation)):
            self._add(conversation, event)
        await self._predict_and_run(conversation)
        return turn

    async def trigger_intent(self, conversation: Conversation, intent: str,
                             entities: list[dict] | None = None) -> TurnResult:
        """An intent from outside (a reminder, ``POST /conversations/{id}/trigger_intent``)."""
        parse = {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or [],
                 "intent_ranking": [{"name": intent, "confidence": 1.0}],
                 "text": f"EXTERNAL: {intent}"}
        turn = conversation.result = TurnResult()
        self._add(conversation, re_.user(f"EXTERNAL: {intent}", parse, conversation.channel))
        for event in await extract_slots(conversation.events, self.domain,
                                         self._custom_runner(conversation)):
            self._add(conversation, event)
        await self._predict_and_run(conversation)
        return turn

    async def _predict_and_run(self, conversation: Conversation) -> None:
        for _ in range(MAX_ACTIONS_PER_TURN):
            prediction = self.policies.predict(conversation.events, self.domain)
            name = prediction.action
            # Rasa applies the prediction's events (user_featurization, loop_interrupted)
            # just before logging the action, and only when the action was not rejected
            before = [dict(e) for e in getattr(prediction, "events", None) or []]
            hide = bool(getattr(prediction, "hide_rule_turn", False))
            if name == ACTION_LISTEN:
                for event in before:
                    self._add(conversation, event)
                self._add(conversation, re_.action(ACTION_LISTEN, prediction.policy_name,
                                                   prediction.confidence, hide))
                return
            ran = await self._run_and_log(conversation, name, prediction.policy_name,
                                          prediction.confidence, before=before,
                                          hide_rule_turn=hide)
            if not ran:
                continue  # rejected: the policies predict again, knowing it
            if name == ACTION_SESSION_START:
                return
            if self._is_paused(conversation):
                # a person takes over: the bot listens, silently, until handed back
                self._add(conversation, re_.listen())
                return
        logger.warning("conversation %s: %d actions in one turn, stopping (a rule or story "
                       "loops?)", conversation.id, MAX_ACTIONS_PER_TURN)
        self._add(conversation, re_.listen())

    def _is_paused(self, conversation: Conversation) -> bool:
        for event in reversed(conversation.events):
            if event.get("event") in ("pause", "resume"):
                return event["event"] == "pause"
        return False

    async def _run_and_log(self, conversation: Conversation, name: str, policy: str | None,
                           confidence: float | None, *, before: list[dict] | None = None,
                           hide_rule_turn: bool = False, **options) -> bool:
        """Run ``name`` and log it as Rasa does: ActionExecuted, then the action's events.
        False when the action rejected itself (only ActionExecutionRejected is logged)."""
        try:
            produced = await self._run(conversation, name, **options)
        except (FormRejected, ActionRejected) as exc:
            logger.debug("conversation %s: %s rejected: %s", conversation.id, name, exc)
            self._add(conversation, re_.rejected(name, policy, confidence))
            return False
        except ActionError as exc:
            # the customer hears that something went wrong rather than nothing at all
            logger.error("conversation %s: action %s failed: %s", conversation.id, name, exc)
            produced = self._utter(conversation, "utter_action_failed", conversation.events)
        if any(e.get("event") == "action_execution_rejected" for e in produced):
            for event in produced:
                self._add(conversation, event)
            return False
        for event in before or []:
            self._add(conversation, event)
        self._add(conversation, re_.action(name, policy, confidence, hide_rule_turn))
        conversation.result.actions.append(name)
        for event in produced:
            self._add(conversation, event)
        return True

    def _add(self, conversation: Conversation, event: dict) -> None:
        re_.stamp(event, self.clock())
        conversation.events.append(event)
        conversation.result.events.append(event)

    # -- running one action -----------------------------------------------------------------

    async def _run(self, conversation: Conversation, name: str, **options) -> list[dict]:
        if name in self._overridden:
            return await self._custom(conversation, name, conversation.events)
        if name in self._builtin:
            handler = self._builtin[name]
            return await (handler(conversation, **options) if options else handler(conversation))
        if name in self.domain.forms:
            return await FormRunner(self.domain, name, self._asker(conversation),
                                    self._custom_runner(conversation)).run(list(conversation.events))
        if name.startswith("utter_") and name not in self.domain.actions:
            return self._utter(conversation, name, conversation.events)
        return await self._custom(conversation, name, conversation.events)

    def _utter(self, conversation: Conversation, name: str, events: list[dict],
               kwargs: dict | None = None) -> list[dict]:
        slots = ev.view(events, self.domain).slots
        if name in self.domain.retrieval_intents or (
                name.startswith("utter_") and name[6:] in self.domain.retrieval_intents):
            name = self._retrieval_response(name, events) or name
        messages = self._render(name, slots, conversation.channel, kwargs or {})
        if messages is None:
            default = builtins.DEFAULT_RESPONSES.get(name)
            if default is None:
                logger.error("conversation %s: no response named %s in the domain",
                             conversation.id, name)
                return []
            messages = [interpolate(dict(default), {**slots, **(kwargs or {})})]
        return [re_.bot(m, name) for m in messages]

    def _retrieval_response(self, action: str, events: list[dict]) -> str | None:
        latest = ev.view(events).latest_message or {}
        selector = (latest.get("parse_data") or {}).get("response_selector") or {}
        intent = action[len("utter_"):]
        chosen = selector.get(intent) or selector.get("default") or {}
        key = (chosen.get("response") or {}).get("intent_response_key")
        return f"utter_{key}" if key else None

    def _asker(self, conversation: Conversation):
        """What a form runs to ask for a slot: its events, without ActionExecuted."""
        async def ask(name: str, events: list[dict]) -> list[dict]:
            if name.startswith("utter_") and name not in self.domain.actions:
                return self._utter(conversation, name, events)
            return await self._custom(conversation, name, events)

        return ask

    def _custom_runner(self, conversation: Conversation):
        async def run(name: str, events: list[dict]) -> list[dict]:
            return await self._custom(conversation, name, events)

        return run

    async def _custom(self, conversation: Conversation, name: str,
                      events: list[dict]) -> list[dict]:
        if self.custom_actions is None:
            logger.error("conversation %s: action %s needs the project's actions, and there "
                         "are none (no actions/ package, no action_endpoint)", conversation.id,
                         name)
            return []
        tracker = re_.tracker_for_actions(conversation.id, events, self.domain)
        result = await self.custom_actions.run(name, tracker, self.domain.raw)
        returned = [dict(e) for e in (getattr(result, "events", None) or [])]
        responses = list(getattr(result, "responses", None) or [])
        produced: list[dict] = []
        slots = ev.view(events + returned, self.domain).slots
        for response in responses:
            for message in self._render_dispatched(response, slots, conversation.channel):
                produced.append(re_.bot(message, response.get("response") or name))
        return produced + returned

    # -- built-in actions -------------------------------------------------------------------

    async def _nothing(self, conversation: Conversation) -> list[dict]:
        return []

    async def _restart(self, conversation: Conversation) -> list[dict]:
        said = self._utter(conversation, "utter_restart", conversation.events) \
            if "utter_restart" in self.domain.responses else []
        return [*said, {"event": "restart"}]

    async def _session_start(self, conversation: Conversation) -> list[dict]:
        return builtins.session_start_events(conversation.events, self.domain,
                                             self.domain.session_config.carry_over_slots)

    async def _default_fallback(self, conversation: Conversation) -> list[dict]:
        return [*self._utter(conversation, "utter_default", conversation.events),
                {"event": "rewind"}]

    async def _deactivate_loop(self, conversation: Conversation) -> list[dict]:
        return builtins.deactivate_loop()

    async def _revert_fallback_events(self, conversation: Conversation) -> list[dict]:
        return [{"event": "rewind"}, {"event": "rewind"}, re_.listen()]

    async def _ask_affirmation(self, conversation: Conversation) -> list[dict]:
        return [re_.bot(builtins.affirmation_message(conversation.events),
                        ACTION_DEFAULT_ASK_AFFIRMATION)]

    async def _ask_rephrase(self, conversation: Conversation) -> list[dict]:
        return self._utter(conversation, "utter_ask_rephrase", conversation.events)

    async def _back(self, conversation: Conversation) -> list[dict]:
        said = self._utter(conversation, "utter_back", conversation.events) \
            if "utter_back" in self.domain.responses else []
        return [*said, {"event": "rewind"}, {"event": "rewind"}]

    async def _extract_slots_action(self, conversation: Conversation) -> list[dict]:
        return await extract_slots(conversation.events, self.domain,
                                   self._custom_runner(conversation))

    async def _two_stage_fallback(self, conversation: Conversation) -> list[dict]:
        step = builtins.two_stage_fallback_step(conversation.events)
        loop = [re_.active_loop(ACTION_TWO_STAGE_FALLBACK)] \
            if ev.view(conversation.events).active_loop_name != ACTION_TWO_STAGE_FALLBACK else []
        if step == "ask_affirmation":
            return [*loop, re_.action(ACTION_DEFAULT_ASK_AFFIRMATION),
                    *await self._ask_affirmation(conversation)]
        if step == "ask_rephrase":
            return [re_.action(ACTION_DEFAULT_ASK_REPHRASE),
                    *await self._ask_rephrase(conversation)]
        if step == "give_up":
            return [*await self._default_fallback(conversation), re_.active_loop(None)]
        latest = ev.view(conversation.events).latest_message
        return [re_.active_loop(None), {"event": "rewind"}, {"event": "rewind"}, re_.listen(),
                *([dict(latest)] if latest else [])]

    async def _handoff(self, conversation: Conversation, reason: str | None = None) -> list[dict]:
        """Carebot: the conversation goes to a person; the bot is silent until handed back."""
        reason = reason or builtins.handoff_reason(conversation.events,
                                                   self.escalation.complaint_intents)
        if reason == "complaint" and not self.escalation.escalate_complaints:
            return []
        priority = builtins.REASON_PRIORITY.get(reason, 1) + (2 if conversation.vip else 0)
        conversation.result.handoff = builtins.HandoffRequest(reason, priority)
        said = await self._tell_handoff(conversation, reason, priority)
        loop = builtins.deactivate_loop() if ev.view(conversation.events).active_loop_name else []
        logger.info("conversation %s goes to a person: %s (priority %d)", conversation.id,
                    reason, priority)
        return [*loop, *said, {"event": "pause"}]

    async def _tell_handoff(self, conversation: Conversation, reason: str,
                            priority: int) -> list[dict]:
        """One handoff message: the queue position and expected wait when an agent is online;
        when nobody is, the promise of an email reply (to the address the conversation knows,
        or one the customer is asked for)."""
        email = builtins.contact_email(ev.view(conversation.events, self.domain).slots)
        status = await self._queue_status(conversation, "on_handoff", priority, email)
        if status is not None and status.offline:  # nobody online, or outside business hours
            name = "utter_handoff_email_saved" if email else status.offline_response
            return self._utter(conversation, name, conversation.events, status.variables())
        name = f"utter_handoff_{reason}" if f"utter_handoff_{reason}" in self.domain.responses \
            else "utter_handoff"
        if status is None and name not in self.domain.responses:  # no queue to speak of
            return [re_.bot(dict(builtins.HANDOFF_WITHOUT_QUEUE), name)]
        return self._utter(conversation, name, conversation.events,
                           status.variables() if status else builtins.UNKNOWN_QUEUE)

    async def _acknowledge_waiting(self, conversation: Conversation, text: str) -> list[dict]:
        status = await self._queue_status(conversation, "on_follow_up", text)
        if status is None:  # a person holds it (or there is no queue to speak of)
            return []
        if status.email_saved_now:
            name = "utter_handoff_email_saved"
        elif status.offline and not status.contact_email:
            name = status.offline_response
        else:
            name = "utter_handoff_waiting"
        return self._utter(conversation, name, conversation.events, status.variables())

    async def _queue_status(self, conversation: Conversation, step: str,
                            *args) -> QueueStatus | None:
        if self.waiting_room is None:
            return None
        try:
            return await getattr(self.waiting_room, step)(conversation.id, *args)
        except Exception as exc:  # noqa: BLE001 - the customer is answered without the figures
            logger.warning("conversation %s: the agents' queue could not be read (%s)",
                           conversation.id, exc)
            return None

    async def _offer_handoff(self, conversation: Conversation) -> list[dict]:
        return self._utter(conversation, "utter_offer_handoff", conversation.events)

    async def _fallback_offer_handoff(self, conversation: Conversation) -> list[dict]:
        pair = builtins.close_intents(conversation.events)
        if pair is not None:  # two intents about as likely: ask which, with a button for each
            return self._ask_which_intent(conversation, pair)
        needed = self.escalation.fallbacks_before_offer
        if needed > 0 and builtins.misunderstandings_in_a_row(conversation.events) >= needed:
            return [{"event": "followup", "name": ACTION_OFFER_HANDOFF}]
        return self._utter(conversation, "utter_default", conversation.events)

    def _ask_which_intent(self, conversation: Conversation, pair: tuple[str, str]) -> list[dict]:
        words = {"first": builtins.intent_words(pair[0]), "second": builtins.intent_words(pair[1])}
        uttered = self._utter(conversation, builtins.WHICH_INTENT_RESPONSE, conversation.events,
                              words)
        if not uttered:
            return []
        data = dict(uttered[-1].get("data") or {})
        if not data.get("buttons"):  # the project's text, Carebot's buttons
            data["buttons"] = builtins.which_intent_buttons(pair)
            uttered[-1] = {**uttered[-1], "data": data}
        return uttered

    # -- Carebot's sentiment escalation -----------------------------------------------------

    def _clearly_angry(self, conversation: Conversation, parse: dict) -> bool:
        if self.escalation.negative_turns <= 0:
            return False
        if ((parse.get("intent") or {}).get("name")) == builtins.FALLBACK_INTENT:
            # A message the NLU could not read is answered by the project's fallback (after two
            # in a row, the offer of a person); its sentiment is not trusted to hand over on its
            # own: the sentiment model read invented words ("glarb wibble snorf plonk") as
            # clearly negative. The streak it is part of neither grows nor breaks.
            return False
        scores = (parse.get("sentiment") or {}).get("scores") or {}
        if scores.get("negative", 0.0) >= self.escalation.negative_threshold:
            conversation.negative_streak += 1
        else:
            conversation.negative_streak = 0
        needed = self.escalation.vip_negative_turns if conversation.vip \
            else self.escalation.negative_turns
        return conversation.negative_streak >= max(1, needed)
