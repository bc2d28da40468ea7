"""Human handoff: agents claim escalated conversations, reply, hand back to the bot or resolve;
customers rate the conversation when it ends. Every step is logged for analytics."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from analytics.store import inbox
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
MAX_NOTE_CHARS = 4000
MAX_SEARCH_CHARS = 200
TITLE_CHARS = 60
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
        view["agent"] = data.get("agent_name") or data.get("agent")  # the name customers see
        view["agent_login"] = data.get("agent")
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
        self.waiting = None  # bot/console/waiting.ConsoleWaitingRoom, set by the console runtime
        self.engine = queue.engine

    # -- reading ------------------------------------------------------------------------

    async def queue_items(self) -> list[dict]:
        """The queue, most urgent first: each item with a readable title, the customer's name
        (from the profile the conversation's email matches when not verified), the urgency
        in words and the email a customer left for a reply."""
        items = [item.to_dict() for item in await asyncio.to_thread(self.queue.items)]
        emails = await asyncio.to_thread(inbox.contact_emails, self.engine,
                                         [i["escalation_id"] for i in items])
        for item in items:
            item["contact_email"] = emails.get(item["escalation_id"])
            if not item["customer_name"] and self.shop is not None:
                await self._name_from_email(item)
            item["title"] = _title(item)
        return items

    async def _name_from_email(self, item: dict) -> None:
        try:
            state = await self.service.get_state(item["conversation_id"])
        except ConversationNotFound:
            return
        email = state.slots.get("email") or item.get("contact_email")
        if not isinstance(email, str) or not email:
            return
        info = await asyncio.to_thread(self.shop.customer_by_email, email)
        if info is not None:  # a hint only: anyone can type an address (the panel says so)
            item.update(customer_name=info.name, customer_id=info.external_id, vip=info.vip,
                        segment=info.segment, customer_verified=False)

    async def conversation(self, conversation_id: str) -> dict:
        """Transcript (intent and sentiment per customer message), status and customer panel."""
        state = await self._state(conversation_id)
        await asyncio.to_thread(self.service.log.flush, 5.0)
        records = await asyncio.to_thread(self.service.store.messages, conversation_id)
        escalation = await asyncio.to_thread(self.queue.current, conversation_id)
        assigned = await asyncio.to_thread(self._username, state.assigned_agent_id)
        customer = await asyncio.to_thread(self._customer_panel, state)
        contact = await asyncio.to_thread(inbox.contact_email, self.engine, escalation.id) \
            if escalation else None
        name = (customer.get("profile") or {}).get("name")
        first = next((r.text for r in records if r.sender == "user"), None)
        history = await asyncio.to_thread(inbox.past_conversations, self.engine,
                                          state.customer_db_id, conversation_id) \
            if state.customer_db_id else []
        return {
            "conversation_id": conversation_id,
            "title": _title({"customer_name": name, "contact_email": contact,
                             "last_message": first}),
            "status": state.status,
            "assigned_to": assigned,
            "escalation": {**escalation.to_dict(), "contact_email": contact}
            if escalation else None,
            "contact_email": contact,
            "customer": customer,
            "notes": await asyncio.to_thread(inbox.notes, self.engine, conversation_id),
            "past_conversations": [c.to_dict() for c in history],
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
            shown = await self._shown_name(agent)
            await self._tell_customer(conversation_id, {
                "type": "notice", "event": "agent_joined", "agent": shown,
                "text": f"{shown} from our support team joined the conversation."})
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
                                   data={"agent": agent.username,
                                         "agent_name": await self._shown_name(agent)})
            self.service.log.write(record)
            state.last_active_at = time.time()
            state.add_event({"event": "bot", "text": record.text,
                             "metadata": {"agent": agent.username,
                                          "agent_name": record.data["agent_name"]}})
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
                shown = await self._shown_name(agent)
                notice = {"type": "notice", "event": "agent_left", "agent": shown,
                          "text": f"{shown} left the conversation. Carebot, our "
                                  "assistant, is here to help again."}
            else:
                state.status = "resolved"
                state.ended_at = time.time()
                shown = await self._shown_name(agent)
                notice = {"type": "ended", "by": "agent", "agent": shown,
                          "text": f"{shown} marked this conversation as resolved."}
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
                                                        "who": "agent",
                                                        "agent": await self._shown_name(agent)})

    async def transfer(self, conversation_id: str, agent: AuthUser, to: object) -> dict:
        """Give a conversation the agent holds to another agent; the customer is told."""
        if not isinstance(to, str) or not to.strip():
            raise HandoffError("say who takes it over: 'to' is an agent's username", 400)
        target = next((a for a in await asyncio.to_thread(inbox.agents, self.engine)
                       if a.username == to.strip()), None)
        if target is None:
            raise HandoffError(f"no agent called '{to.strip()}'", 404)
        if target.id == agent.id:
            raise HandoffError("you already hold this conversation", 400)
        async with self.service.lock(conversation_id):
            state = await self._held_by(conversation_id, agent)
            escalation = await self._escalation(conversation_id)
            now = record_time()
            if not await asyncio.to_thread(inbox.transfer_escalation, self.engine,
                                           escalation.id, agent.id, target.id, now):
                raise HandoffError("this conversation changed hands meanwhile; refresh it")
            state.assigned_agent_id = target.id
            await self.service.commit(state)
            self._event(conversation_id, "transfer", agent, now, escalation_id=escalation.id,
                        to_agent_id=target.id, to_agent=target.username)
            await self._tell_customer(conversation_id, {
                "type": "notice", "event": "agent_joined", "agent": target.shown_name,
                "text": f"{target.shown_name} from our support team is taking over the "
                        "conversation."})
            await self._tell_agents(conversation_id, "agent", target.username)
            await self.hub.publish(AGENTS_TOPIC, {"type": "transferred",
                                                  "conversation_id": conversation_id,
                                                  "from": agent.username,
                                                  "to": target.username})
        logger.info("conversation %s transferred from %s to %s", conversation_id,
                    agent.username, target.username)
        return {"conversation_id": conversation_id, "status": "agent",
                "assigned_to": target.username}

    async def add_note(self, conversation_id: str, agent: AuthUser, text: object) -> dict:
        """A private note on the conversation, for agents only."""
        if not isinstance(text, str) or not text.strip() or text_problem(text):
            raise HandoffError("write the note first: 'text' is empty or not text", 400)
        if len(text) > MAX_NOTE_CHARS:
            raise HandoffError(f"a note can be at most {MAX_NOTE_CHARS} characters", 413)
        await self._state(conversation_id)
        note = await asyncio.to_thread(inbox.add_note, self.engine, conversation_id, agent.id,
                                       text.strip())
        await self.hub.publish(AGENTS_TOPIC, {"type": "note", "conversation_id": conversation_id,
                                              "note": note})
        return note

    async def search(self, term: object) -> list[dict]:
        if not isinstance(term, str) or not term.strip():
            raise HandoffError("search for something: 'q' is empty", 400)
        if len(term) > MAX_SEARCH_CHARS:
            raise HandoffError(f"a search can be at most {MAX_SEARCH_CHARS} characters", 400)
        await asyncio.to_thread(self.service.log.flush, 5.0)  # the latest messages too
        found = await asyncio.to_thread(inbox.search_conversations, self.engine, term)
        return [_with_title(c.to_dict()) for c in found]

    async def resolved(self) -> list[dict]:
        found = await asyncio.to_thread(inbox.resolved_conversations, self.engine)
        return [_with_title(c.to_dict()) for c in found]

    async def agents(self) -> list[dict]:
        return [a.to_dict() for a in await asyncio.to_thread(inbox.agents, self.engine)]

    async def saved_replies(self) -> list[dict]:
        return await asyncio.to_thread(inbox.saved_replies, self.engine)

    async def add_saved_reply(self, agent: AuthUser, shortcut: object, text: object) -> dict:
        if not isinstance(shortcut, str) or not isinstance(text, str) or not text.strip() \
                or text_problem(text) or text_problem(shortcut):
            raise HandoffError("a saved reply needs a 'shortcut' and a 'text'", 400)
        if len(text) > self.max_message_chars:
            raise HandoffError(f"a saved reply can be at most {self.max_message_chars} "
                               "characters", 413)
        try:
            return await asyncio.to_thread(inbox.add_saved_reply, self.engine, shortcut,
                                           text.strip(), agent.id)
        except inbox.SavedReplyError as exc:
            raise HandoffError(str(exc), 400) from None

    async def delete_saved_reply(self, reply_id: int) -> None:
        if not await asyncio.to_thread(inbox.delete_saved_reply, self.engine, reply_id):
            raise HandoffError(f"no saved reply {reply_id}", 404)

    async def _shown_name(self, agent: AuthUser) -> str:
        account = await asyncio.to_thread(inbox.agent_account, self.engine, agent.id)
        return account.shown_name if account else agent.username

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
            if self.waiting is not None and event.get("escalation_id") is not None:
                await self.waiting.on_escalation(conversation_id, int(event["escalation_id"]))
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


def _title(item: dict) -> str:
    """What agents call a conversation: the customer's name, the email they left, or their
    first words, never the id."""
    if item.get("customer_name"):
        return str(item["customer_name"])
    if item.get("contact_email"):
        return str(item["contact_email"])
    words = " ".join(str(item.get("last_message") or item.get("first_message") or "").split())
    if words and not words.startswith("/"):  # a button's payload says nothing to a person
        short = words if len(words) <= TITLE_CHARS else words[:TITLE_CHARS - 1].rstrip() + "…"
        return f"Visitor: “{short}”"
    return "Visitor"


def _with_title(summary: dict) -> dict:
    return {**summary, "title": _title(summary)}


def _seconds(start: datetime | None, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds()) if start else 0.0
