"""Human handoff: agents claim escalated conversations, reply, hand back to the bot or resolve;
customers rate the conversation when it ends. Every step is logged for analytics."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from analytics.store.escalations import EscalationState
from analytics.store.records import EventRecord, MessageRecord, record_time
from analytics.store.shop import ShopRepository
from bot.console.queue import EscalationQueue
from bot.dialogue.conversations import ConversationNotFound, ConversationService
from bot.dialogue.hub import AGENTS_TOPIC, CUSTOMER_TOPIC
from bot.dialogue.state import ConversationState
from bot.web.auth import AuthUser
from bot.web.errors import text_problem

logger = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 2000
LIVE_STATUSES = ("escalated", "agent")  # conversations whose every message agents see live


class HandoffError(Exception):
    """A step an agent or customer cannot take now; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def message_view(record, reveal=None) -> dict:
    """A stored or just-written message as the console and the widget show it; ``reveal``
    (RawText.reveal) gives the words as written to those entitled to them."""
    data = record.data or {}
    view = {"id": record.id, "sender": record.sender,
            "text": reveal(record) if reveal else record.text,
            "at": record.created_at.isoformat() if record.created_at else None}
    if record.sender == "user":
        view.update(intent=record.intent, confidence=record.confidence,
                    sentiment=record.sentiment_label, sentiment_score=record.sentiment_score)
    elif record.sender == "agent":
        view["agent"] = data.get("agent")
    else:
        view.update({k: data[k] for k in ("buttons", "image", "custom") if data.get(k)})
    return view


class AgentDesk:
    """What agents (and the widget's rating prompt) can do to a conversation."""

    def __init__(self, service: ConversationService, queue: EscalationQueue,
                 shop: ShopRepository | None = None, *, max_message_chars: int = 2000) -> None:
        self.service = service
        self.hub = service.hub
        self.queue = queue
        self.shop = shop
        self.max_message_chars = max_message_chars
        self.risk = None  # bot/monitoring/risk_view.RiskView, set by the monitoring runtime

    # -- reading ------------------------------------------------------------------------

    async def queue_items(self) -> list[dict]:
        """The queue, most urgent first."""
        return [item.to_dict() for item in await asyncio.to_thread(self.queue.items)]

    async def conversation(self, conversation_id: str) -> dict:
        """Transcript (intent and sentiment per customer message), status and customer panel."""
        state = await self._state(conversation_id)
        await asyncio.to_thread(self.service.log.flush, 5.0)
        records = await asyncio.to_thread(self.service.store.messages, conversation_id)
        escalation = await asyncio.to_thread(self.queue.current, conversation_id)
        assigned = await asyncio.to_thread(self._username, state.assigned_agent_id)
        return {
            "conversation_id": conversation_id,
            "status": state.status,
            "assigned_to": assigned,
            "escalation": escalation.to_dict() if escalation else None,
            "customer": await asyncio.to_thread(self._customer_panel, state),
            "csat_rating": state.csat_rating,
            "risk": self.risk.conversation(state.events) if self.risk else None,
            "messages": [message_view(r, self.service.raw_text.reveal) for r in records],
        }

    def _customer_panel(self, state: ConversationState) -> dict:
        external_id = state.slots.get("customer_id")
        email = state.slots.get("email")
        panel: dict = {"verified": bool(external_id), "customer_id": external_id, "email": email,
                       "profile": None}
        if self.shop is None:
            return panel
        if not external_id and email:
            # Only a hint: anyone can type an email address, so the console marks it unverified.
            info = self.shop.customer_by_email(str(email))
            external_id = info.external_id if info else None
        profile = self.shop.customer_profile(external_id) if external_id else None
        if profile is not None:
            c = profile.customer
            panel["profile"] = {
                "customer_id": c.external_id, "name": c.name, "email": c.email, "vip": c.vip,
                "segment": c.segment, "order_count": profile.order_count,
                "lifetime_value": str(profile.lifetime_value),
                "recent_orders": [{"order_number": o.order_number, "status": o.status,
                                   "total": str(o.total), "created_at": o.created_at.isoformat()}
                                  for o in profile.recent_orders]}
            panel["profile"]["risk"] = self.risk.customer(c.external_id) if self.risk else None
        return panel

    # -- agent steps --------------------------------------------------------------------

    async def claim(self, conversation_id: str, agent: AuthUser) -> dict:
        """Assign the conversation to ``agent``; the bot falls silent and the customer is told."""
        async with self.service.lock(conversation_id):
            escalation = await self._escalation(conversation_id)
            if escalation.status == "claimed":
                if escalation.claimed_by == agent.id:
                    return {"conversation_id": conversation_id, "status": "agent"}
                raise HandoffError(f"{escalation.claimed_by_name or 'another agent'} already "
                                   "claimed this conversation")
            now = record_time()
            if not await asyncio.to_thread(self.queue.claim, escalation.id, agent.id, now):
                raise HandoffError("another agent claimed this conversation a moment ago")
            state = await self._state(conversation_id)
            state.status = "agent"
            state.assigned_agent_id = agent.id
            state.add_event({"event": "pause"})  # Rasa's "conversation paused"
            await self.service.commit(state)
            self._event(conversation_id, "claim", agent, now, escalation_id=escalation.id,
                        waited_seconds=round(_seconds(escalation.created_at, now), 3))
            await self._tell_customer(conversation_id, {
                "type": "notice", "event": "agent_joined", "agent": agent.username,
                "text": f"{agent.username} from our support team joined the conversation."})
            await self._tell_agents(conversation_id, "agent", agent.username)
        logger.info("conversation %s claimed by %s", conversation_id, agent.username)
        return {"conversation_id": conversation_id, "status": "agent"}

    async def reply(self, conversation_id: str, agent: AuthUser, text: object) -> dict:
        """Send the agent's message to the customer; returns the stored message."""
        if not isinstance(text, str) or not text.strip():
            raise HandoffError("write a reply first: 'text' is empty", 400)
        if len(text) > self.max_message_chars:
            raise HandoffError(f"a reply can be at most {self.max_message_chars} characters", 413)
        async with self.service.lock(conversation_id):
            state = await self._held_by(conversation_id, agent)
            now = record_time()
            record = MessageRecord(conversation_id=conversation_id, sender="agent",
                                   text=text.strip(), created_at=now,
                                   data={"agent": agent.username})
            self.service.log.write(record)
            state.last_active_at = time.time()
            state.add_event({"event": "bot", "text": record.text,
                             "metadata": {"agent": agent.username}})
            await self.service.commit(state)
            escalation = await asyncio.to_thread(self.queue.current, conversation_id)
            first = bool(escalation) and await asyncio.to_thread(
                self.queue.responded, escalation.id, now)
            self._event(conversation_id, "agent_reply", agent, now, message_id=record.id,
                        escalation_id=escalation.id if escalation else None,
                        first_response=first)
            # Stored before anyone hears of it: a widget reconnecting to another process
            # then finds it in the history.
            await asyncio.to_thread(self.service.log.flush, 5.0)
            view = message_view(record)
            await self._tell_customer(conversation_id, {"type": "agent", **view})
            await self.hub.publish(AGENTS_TOPIC, {"type": "messages",
                                                  "conversation_id": conversation_id,
                                                  "messages": [view]})
        return view

    async def hand_back(self, conversation_id: str, agent: AuthUser) -> dict:
        """Return the conversation to the bot."""
        return await self._finish(conversation_id, agent, "returned")

    async def resolve(self, conversation_id: str, agent: AuthUser) -> dict:
        """End the conversation; the customer is asked to rate it."""
        return await self._finish(conversation_id, agent, "resolved")

    async def _finish(self, conversation_id: str, agent: AuthUser, outcome: str) -> dict:
        async with self.service.lock(conversation_id):
            state = await self._held_by(conversation_id, agent)
            escalation = await asyncio.to_thread(self.queue.current, conversation_id)
            now = record_time()
            if escalation:
                await asyncio.to_thread(self.queue.close, escalation.id, outcome, now)
            handled = _seconds(escalation.claimed_at, now) if escalation else None
            if outcome == "returned":
                state.status = "bot"
                state.assigned_agent_id = None
                # The bot starts afresh: old anger or misunderstandings must not re-escalate.
                state.negative_streak = 0
                state.add_event({"event": "resume"})
                notice = {"type": "notice", "event": "agent_left", "agent": agent.username,
                          "text": f"{agent.username} left the conversation. Carebot, our "
                                  "assistant, is here to help again."}
            else:
                state.status = "resolved"
                state.ended_at = time.time()
                notice = {"type": "ended", "by": "agent", "agent": agent.username,
                          "text": f"{agent.username} marked this conversation as resolved."}
            await self.service.commit(state)
            self._event(conversation_id, "handback" if outcome == "returned" else "resolve",
                        agent, now, escalation_id=escalation.id if escalation else None,
                        handle_seconds=round(handled, 3) if handled is not None else None)
            await self._tell_customer(conversation_id, notice)
            await self._tell_agents(conversation_id, state.status, None)
        logger.info("conversation %s %s by %s", conversation_id, outcome, agent.username)
        return {"conversation_id": conversation_id, "status": state.status}

    async def typing(self, conversation_id: str, agent: AuthUser, on: bool) -> None:
        """Show or hide "<agent> is typing" in the customer's widget."""
        state = await self._state(conversation_id)
        if state.status == "agent" and state.assigned_agent_id == agent.id:
            await self._tell_customer(conversation_id, {"type": "typing", "on": bool(on),
                                                        "who": "agent", "agent": agent.username})

    # -- the customer's rating ----------------------------------------------------------

    async def rate(self, conversation_id: str, rating: object, comment: object = None) -> None:
        """Store the customer's satisfaction rating (1-5) and optional comment."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise HandoffError("a rating is a whole number from 1 to 5", 400)
        if comment is not None and (not isinstance(comment, str) or text_problem(comment)):
            raise HandoffError("a comment must be text (valid Unicode, no NUL)", 400)
        comment = (comment or "").strip()[:MAX_COMMENT_CHARS] or None
        async with self.service.lock(conversation_id):
            state = await self._state(conversation_id)
            if state.csat_rating is not None:
                raise HandoffError("this conversation is already rated", 409)
            state.csat_rating, state.csat_comment = rating, comment
            await self.service.commit(state)
            self.service.log.write(EventRecord(conversation_id=conversation_id, type="csat",
                                               actor="customer", data={"rating": rating}))
        logger.info("conversation %s rated %d", conversation_id, rating)

    # -- live updates from customer turns -----------------------------------------------

    async def on_conversation_event(self, conversation_id: str, event: dict) -> None:
        """ConversationService listener: show agents what happens in held conversations."""
        kind = event.get("type")
        if kind == "turn":
            if event.get("status") in LIVE_STATUSES:
                await self.hub.publish(AGENTS_TOPIC, {
                    "type": "messages", "conversation_id": conversation_id,
                    "messages": [message_view(r, self.service.raw_text.reveal)
                                 for r in event.get("records", [])]})
            elif event.get("status") == "bot" and event.get("intent") == "goodbye":
                await self._tell_customer(conversation_id, {"type": "ended", "by": "bot"})
        elif kind == "escalation":
            await self._tell_customer(conversation_id, {"type": "status", "status": "escalated"})
            await self.hub.publish(AGENTS_TOPIC, {"type": "queue_changed",
                                                  "conversation_id": conversation_id,
                                                  "reason": event.get("reason")})

    # -- helpers ------------------------------------------------------------------------

    async def _state(self, conversation_id: str) -> ConversationState:
        try:
            return await self.service.get_state(conversation_id)
        except ConversationNotFound:
            raise HandoffError(f"no conversation with id '{conversation_id}'", 404) from None

    async def _escalation(self, conversation_id: str) -> EscalationState:
        escalation = await asyncio.to_thread(self.queue.current, conversation_id)
        if escalation is None:
            raise HandoffError("this conversation is not waiting for a person; refresh the "
                               "queue", 404)
        return escalation

    async def _held_by(self, conversation_id: str, agent: AuthUser) -> ConversationState:
        state = await self._state(conversation_id)
        if state.status != "agent":
            raise HandoffError("claim the conversation first" if state.status == "escalated"
                               else f"this conversation is not held by an agent ({state.status})")
        if state.assigned_agent_id != agent.id:
            holder = await asyncio.to_thread(self._username, state.assigned_agent_id)
            raise HandoffError(f"{holder or 'another agent'} holds this conversation")
        return state

    def _username(self, user_id: int | None) -> str | None:
        account = self.service.store.account(user_id) if user_id is not None else None
        return account[0] if account else None

    def _event(self, conversation_id: str, kind: str, agent: AuthUser, at: datetime,
               **data) -> None:
        self.service.log.write(EventRecord(conversation_id=conversation_id, type=kind,
                                           actor=agent.username, created_at=at,
                                           data={"agent_id": agent.id, **data}))

    async def _tell_customer(self, conversation_id: str, event: dict) -> None:
        await self.hub.publish(CUSTOMER_TOPIC, {"conversation_id": conversation_id,
                                                "event": event})

    async def _tell_agents(self, conversation_id: str, status: str, agent: str | None) -> None:
        await self.hub.publish(AGENTS_TOPIC, {"type": "conversation",
                                              "conversation_id": conversation_id,
                                              "status": status, "assigned_to": agent})
        await self.hub.publish(AGENTS_TOPIC, {"type": "queue_changed",
                                              "conversation_id": conversation_id})


def _seconds(start: datetime | None, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds()) if start else 0.0
