"""The dialogue engine: rules, forms, fallback and escalation over a ConversationState."""

from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import rasa_sdk
from rasa_sdk.executor import ActionExecutor

from bot.config import EscalationPolicy
from bot.dialogue.domain import BotDefinition
from bot.dialogue.state import ConversationState
from nlp.types import FALLBACK_INTENT

logger = logging.getLogger(__name__)

# Intents that break out of an active form instead of being read as an answer to it.
FORM_BREAKERS = {"human_agent", "complaint", "goodbye", "greet", "bot_challenge", "thank_you"}
MAX_ACTIONS_PER_TURN = 10


@dataclass(frozen=True)
class EscalationRequest:
    reason: str  # customer_request | complaint | repeated_fallback | negative_sentiment
    priority: int


@dataclass
class Reply:
    messages: list[dict] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    escalation: EscalationRequest | None = None


REASON_PRIORITY = {"negative_sentiment": 3, "complaint": 2, "customer_request": 1,
                   "repeated_fallback": 1}


class DialogueEngine:
    """Decides the bot's next actions for one customer turn and carries them out."""

    def __init__(
        self,
        bot: BotDefinition,
        policy: EscalationPolicy | None = None,
        executor: ActionExecutor | None = None,
        action_context: Callable[[], AbstractContextManager] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.bot = bot
        self.policy = policy or EscalationPolicy()
        if executor is None:
            executor = ActionExecutor()
            executor.register_package("actions")
        self.executor = executor
        self.action_context = action_context or contextlib.nullcontext
        self.rng = rng or random.Random(0)
        self._form_intents: dict[str, set[str]] = {}
        for intent, actions in bot.intent_rules.items():
            for action in actions:
                if action in bot.forms:
                    self._form_intents.setdefault(action, set()).add(intent)

    async def respond(self, state: ConversationState, parse: dict) -> Reply:
        reply = Reply()
        state.turns += 1
        state.last_active_at = time.time()
        state.latest_message = parse
        state.add_event({"event": "user", "text": parse.get("text"), "parse_data": parse})
        if state.status in ("escalated", "agent"):
            return reply  # a person holds (or is about to hold) the conversation: the bot is silent
        filled = self._fill_slots(state, parse)
        intent = parse["intent"]["name"]
        if state.active_form and state.requested_slot in filled:
            # "A10023" alone is an answer to the form, whatever intent the classifier guessed
            await self._run_form(state, reply, state.active_form)
            return reply

        if self._is_clearly_angry(state, parse):
            await self._run(state, reply, "utter_complaint")
            await self._escalate(state, reply, "negative_sentiment")
            return reply

        if state.pending_question == "offer_human":
            state.pending_question = None
            if intent == "affirm":
                await self._escalate(state, reply, "repeated_fallback")
                return reply
            if intent == "deny":
                state.consecutive_fallbacks = 0
                await self._run(state, reply, "utter_anything_else")
                return reply

        if intent == FALLBACK_INTENT:
            state.consecutive_fallbacks += 1
            state.fallback_count += 1
            if state.consecutive_fallbacks >= self.policy.fallbacks_before_offer:
                state.consecutive_fallbacks = 0
                state.pending_question = "offer_human"
                await self._run(state, reply, "utter_offer_human")
            elif state.active_form and state.requested_slot:
                await self._run(state, reply, self._invalid_response(state.requested_slot))
            else:
                await self._run(state, reply, "utter_default")
            return reply
        state.consecutive_fallbacks = 0

        if state.active_form and await self._continue_form(state, reply, intent):
            return reply
        actions = self.bot.intent_rules.get(intent)
        if not actions:
            await self._run(state, reply, "utter_default")
            return reply
        for action in actions:
            await self._run(state, reply, action)
            if reply.escalation:
                break
        return reply

    # -- understanding ------------------------------------------------------------------

    def _fill_slots(self, state: ConversationState, parse: dict) -> set[str]:
        filled = set()
        for entity in parse.get("entities", []):
            for slot in self.bot.slots.values():
                if slot.entity != entity.get("entity"):
                    continue
                value = entity.get("value")
                if slot.type == "categorical":
                    value = str(value).lower()
                    if slot.values and value not in slot.values:
                        continue
                state.slots[slot.name] = value
                filled.add(slot.name)
        return filled

    def _is_clearly_angry(self, state: ConversationState, parse: dict) -> bool:
        scores = (parse.get("sentiment") or {}).get("scores") or {}
        if scores.get("negative", 0.0) >= self.policy.negative_threshold:
            state.negative_streak += 1
        else:
            state.negative_streak = 0
        needed = self.policy.vip_negative_turns if state.vip else self.policy.negative_turns
        return state.negative_streak >= needed

    # -- forms --------------------------------------------------------------------------

    async def _continue_form(self, state: ConversationState, reply: Reply, intent: str) -> bool:
        """Treat the message as an answer to the active form; False lets rules handle it."""
        form, slot = state.active_form, state.requested_slot
        if slot and state.slots.get(slot):
            await self._run_form(state, reply, form)
            return True
        own_intents = self._form_intents.get(form, set())
        starts_other_form = any(a in self.bot.forms for a in self.bot.intent_rules.get(intent, []))
        if intent in FORM_BREAKERS or (starts_other_form and intent not in own_intents):
            self._deactivate(state)
            return False
        if intent == "deny":
            self._deactivate(state)
            await self._run(state, reply, "utter_anything_else")
            return True
        await self._run(state, reply, self._invalid_response(slot) if slot else "utter_default")
        return True

    def _invalid_response(self, slot: str) -> str:
        name = f"utter_invalid_{slot}"
        return name if name in self.bot.responses else f"utter_ask_{slot}"

    async def _run_form(self, state: ConversationState, reply: Reply, form: str) -> None:
        state.active_form = form
        for slot in self.bot.forms[form]:
            if not state.slots.get(slot):
                state.requested_slot = slot
                await self._run(state, reply, f"utter_ask_{slot}")
                return
        self._deactivate(state)
        for action in self.bot.form_submit.get(form, []):
            await self._run(state, reply, action)

    def _deactivate(self, state: ConversationState) -> None:
        state.active_form = None
        state.requested_slot = None

    # -- actions ------------------------------------------------------------------------

    async def _run(self, state: ConversationState, reply: Reply, action: str) -> None:
        if len(reply.actions) >= MAX_ACTIONS_PER_TURN:
            logger.warning("conversation %s: action limit reached at %s", state.id, action)
            return
        reply.actions.append(action)
        state.latest_action_name = action
        state.add_event({"event": "action", "name": action})
        if action in self.bot.responses:
            reply.messages.append(self.render(action, state.slots))
        elif action in self.bot.forms:
            await self._run_form(state, reply, action)
        elif action == "action_escalate":
            await self._escalate(state, reply, _reason_for(state))
        else:
            await self._run_custom(state, reply, action)

    async def _escalate(self, state: ConversationState, reply: Reply, reason: str) -> None:
        if state.status != "bot":
            return
        if reason == "complaint" and not self.policy.escalate_complaints:
            return
        self._deactivate(state)
        state.status = "escalated"
        state.escalated = True
        priority = REASON_PRIORITY.get(reason, 1) + (2 if state.vip else 0)
        reply.escalation = EscalationRequest(reason=reason, priority=priority)
        reply.actions.append("action_escalate")
        reply.messages.append(self.render("utter_handoff", state.slots))
        logger.info("conversation %s escalated: %s (priority %d)", state.id, reason, priority)

    async def _run_custom(self, state: ConversationState, reply: Reply, action: str) -> None:
        call = {
            "next_action": action,
            "sender_id": state.id,
            "tracker": state.rasa_tracker(),
            "domain": self.bot.raw_domain,
            "version": rasa_sdk.__version__,
        }
        with self.action_context():
            result = await self.executor.run(call)
        if result is None:
            return
        if not isinstance(result, dict):  # newer rasa-sdk returns a pydantic model
            result = result.model_dump(by_alias=True)
        for event in result.get("events", []):
            state.add_event(dict(event))
            kind = event.get("event")
            if kind == "slot":
                if event.get("name") == "requested_slot":
                    state.requested_slot = event.get("value")
                else:
                    state.slots[event["name"]] = event.get("value")
            elif kind == "active_loop":
                state.active_form = event.get("name")
            elif kind == "followup" and event.get("name"):
                await self._run(state, reply, event["name"])
        for response in result.get("responses", []):
            name = response.get("response") or response.get("template")
            if name and name in self.bot.responses:
                reply.messages.append(self.render(name, {**state.slots, **response}))
                continue
            message = {k: response[k] for k in ("text", "buttons", "image") if response.get(k)}
            if response.get("custom"):
                message["custom"] = response["custom"]
            if message:
                reply.messages.append(message)

    def render(self, response: str, slots: dict) -> dict:
        variation = self.rng.choice(self.bot.responses[response])
        message: dict = {}
        if variation.get("text"):
            message["text"] = _fill(variation["text"], slots)
        for key in ("buttons", "image", "custom"):
            if variation.get(key):
                message[key] = variation[key]
        return message


def _reason_for(state: ConversationState) -> str:
    intent = (state.latest_message.get("intent") or {}).get("name")
    return {"complaint": "complaint", "human_agent": "customer_request"}.get(intent, "customer_request")


_SLOT_REF = re.compile(r"\{(\w+)\}")


def _fill(text: str, slots: dict) -> str:
    return _SLOT_REF.sub(lambda m: str(slots.get(m.group(1), m.group(0))), text)
