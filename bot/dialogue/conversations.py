"""One customer turn, end to end: lock, state, NLU, dialogue engine, log, fan-out."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Engine

from analytics.store.reads import ConversationStore
from analytics.store.receipts import MessageReceipts
from analytics.store.records import ConversationRecord, EventRecord, MessageRecord, new_id
from analytics.store.writer import ConversationLog
from bot.dialogue.actions.reminders import ReminderScheduler
from bot.dialogue.handoffs import Handoffs
from bot.dialogue.hub import CUSTOMER_TOPIC, REV, UNCHANGED, Hub
from bot.dialogue.message_ids import MessageIds
from bot.dialogue.nlu_batcher import NLUService
from bot.dialogue.processor import Conversation, MessageProcessor, TurnResult
from bot.dialogue.state import ConversationState
from bot.privacy import RawText, TrackerSeal
from nlp.pii import find_pii, mask
from nlp.types import FALLBACK_INTENT, ParseResult

logger = logging.getLogger(__name__)

MAX_CACHED_CONVERSATIONS = 10_000
KEEPER_THREADS = 4  # turns kept at once; their fsyncs are shared (analytics/store/journal.py)

Listener = Callable[[str, dict], Awaitable[None]]  # (conversation_id, message) -> None


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


@lru_cache(maxsize=4096)
def redact_bot_text(text: str) -> str:
    """A bot reply as logged: replies quote the customer's email, address... back to them.
    Most replies are a project's responses word for word: each is redacted once."""
    return mask(text, sorted(find_pii(text), key=lambda span: span.start))


def _redacted_entities(parse: ParseResult) -> list[dict]:
    """Entities as logged: a value that is personal data (an email...) becomes its placeholder."""
    logged = []
    for entity in parse.entities:
        item = entity.to_dict()
        for span in parse.pii:
            if entity.start < span.end and span.start < entity.end:
                item["value"] = f"[{span.kind}]"
                break
        logged.append(item)
    return logged


def _may_have_reminders(state: ConversationState) -> bool:
    """Whether the conversation ever scheduled a reminder a message cancels: reminders come
    only from its own ReminderScheduled events, so a conversation without one needs no query."""
    return any(e.get("event") == "reminder" and e.get("kill_on_user_msg", True)
               for e in state.events)


class ConversationForbidden(PermissionError):
    """A caller without the verified customer's signature tried to continue their conversation."""


class ConversationNotFound(LookupError):
    pass


class ConversationService:
    """Owns conversation state in memory (backed by the store) and runs each turn."""

    def __init__(self, processor: MessageProcessor, nlu: NLUService, store: ConversationStore,
                 log: ConversationLog, lookup_customer: Callable[[str], dict | None] | None = None,
                 hub: Hub | None = None, raw_text: RawText | None = None,
                 reminders: ReminderScheduler | None = None, *, db: Engine):
        self.processor = processor
        self.reminders = reminders  # Rasa's ReminderScheduled events, kept in the database
        self.raw_text = raw_text or RawText()  # the customer's own words, encrypted
        self.tracker_seal = TrackerSeal(self.raw_text)  # and their trackers' events
        self.nlu = nlu
        self.store = store
        self.log = log
        self.lookup_customer = lookup_customer
        self.hub = hub or Hub()  # locks, and with Redis the state shared between processes
        self._states: OrderedDict[str, ConversationState] = OrderedDict()
        self._revs: dict[str, str] = {}  # the hub's revision of a cached state (shared hubs)
        self._listeners: list[Listener] = []
        # gets each conversation's new Rasa events as they are stored (bot/broker): it must
        # not block, as it runs inside the turn
        self.event_stream: Callable[[str, list[dict]], None] | None = None
        self.event_sync: Callable[[Callable[[], None]], None] | None = None  # fsyncs them
        # Keeping a turn (its receipt, log records and the journal's fsync) runs on threads of
        # its own: on the default pool it queued behind the custom actions' database reads
        # and the reports (p99 ~90-200 ms of waiting in benchmarks/load.py runs).
        self._keepers = ThreadPoolExecutor(KEEPER_THREADS, thread_name_prefix="carebot-keep")
        self.message_ids = MessageIds(MessageReceipts(db))  # each client id handled once, ever
        # every conversation waiting for a person stays in the agents' queue
        self.handoffs = Handoffs(db, log, lock=self.lock, get_state=self.get_state,
                                 notify=self._notify)

    async def start(self) -> None:
        """Start the background work: the escalation repair (now, then every minute)."""
        self.handoffs.start()

    async def close(self) -> None:
        await self.handoffs.close()
        self._keepers.shutdown(wait=True)  # a turn being kept finishes its fsync

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def lock(self, conversation_id: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation (across processes with Redis) while changing its state."""
        return self.hub.lock(conversation_id)

    async def get_state(self, conversation_id: str, *, create: bool = False,
                        channel: str = "rest") -> ConversationState:
        # Another process may have moved a shared conversation on: the cache is trusted then
        # only while the hub still holds the revision this process saved or loaded last.
        state = self._states.get(conversation_id)
        shared = None
        if self.hub.shared:
            shared = await self.hub.load_state_unless(
                conversation_id, self._revs.get(conversation_id) if state is not None else None)
            if shared is UNCHANGED:
                self._states.move_to_end(conversation_id)
                return state
            state = None
        if shared is not None:
            state = ConversationState.from_dict(self.tracker_seal.open(shared))
            self._remember(state, shared.get(REV))
        elif state is None:
            record = await asyncio.to_thread(self.store.load_conversation, conversation_id)
            if record is not None:
                state = ConversationState.from_dict(
                    self.tracker_seal.open(record.tracker_state or {"id": conversation_id}))
                state.id = conversation_id
                state.status = record.status
            elif create:
                state = ConversationState(id=conversation_id, channel=channel)
            else:
                raise ConversationNotFound(conversation_id)
            self._remember(state)
        else:
            self._states.move_to_end(conversation_id)
        return state

    def _remember(self, state: ConversationState, rev: str | None = None) -> None:
        """Cache the state; ``rev``: the hub's revision of it (None: not known to match)."""
        self._states[state.id] = state
        self._states.move_to_end(state.id)
        if rev is None:
            self._revs.pop(state.id, None)
        else:
            self._revs[state.id] = rev
        while len(self._states) > MAX_CACHED_CONVERSATIONS:
            gone, _ = self._states.popitem(last=False)
            self._revs.pop(gone, None)

    async def _share(self, state: ConversationState, tracker: dict) -> None:
        """Give the hub the state a change left (other processes start from it); with a
        shared hub it is saved under a new revision, which this process's cache now holds."""
        if not self.hub.shared:
            return
        rev = uuid.uuid4().hex
        self._remember(state, rev)
        await self.hub.save_state(state.id, {**tracker, REV: rev})

    async def identify(self, state: ConversationState, customer_external_id: str | None) -> None:
        """Attach a verified customer to the conversation (only called after HMAC checks)."""
        if not customer_external_id or state.slot("customer_id") == customer_external_id:
            return
        customer = None
        if self.lookup_customer:
            customer = await asyncio.to_thread(self.lookup_customer, customer_external_id)
        if customer is None:
            logger.warning("verified customer %s is not in the shop's data", customer_external_id)
            return
        # slots the project may use (a verified customer need not give their email again)
        state.set_slot("customer_id", customer_external_id)
        state.set_slot("email", customer["email"])
        state.customer_db_id = customer["id"]
        state.vip = bool(customer.get("vip"))

    async def handle_message(self, conversation_id: str, text: str, *, channel: str = "rest",
                             customer_external_id: str | None = None,
                             message_id: str | None = None) -> list[dict]:
        """Run one customer turn and return the bot's messages (empty while a person holds it)."""
        async with self.lock(conversation_id):
            cached = await self.get_state(conversation_id, create=True, channel=channel)
            verified = cached.slot("customer_id")
            if verified and customer_external_id != verified:
                raise ConversationForbidden(
                    f"conversation '{conversation_id}' belongs to a verified customer; "
                    "continue it with that customer's signed id")
            if message_id and message_id in cached.recent_message_ids:
                logger.info("conversation %s: dropped resent message %s", conversation_id, message_id)
                return []
            # Was it handled in another conversation or process, or long ago? The store is
            # asked while the NLU parses.
            handled_elsewhere = self.message_ids.look_up(message_id)
            # The turn works on a copy: if anything fails, the cached state is as it was and
            # the client's resend of the same message is handled, not dropped.
            state = cached.working_copy()
            await self.identify(state, customer_external_id)
            if message_id:
                state.recent_message_ids = [*state.recent_message_ids[-49:], message_id]
            if state.status == "resolved":
                state.status = "bot"  # writing again after a resolution reopens it with the bot
            received = time.time()
            parse = await self.nlu.parse(text)
            if await self.message_ids.found(handled_elsewhere):
                logger.info("conversation %s: dropped resent message %s", conversation_id, message_id)
                return []
            if self.reminders is not None and _may_have_reminders(state):
                try:
                    await self.reminders.cancel_on_user_message(state.id)
                except Exception as exc:  # noqa: BLE001 - the chat must go on without the database
                    logger.warning("conversation %s: could not cancel its kill_on_user_msg "
                                   "reminders (%s)", conversation_id, exc)
            reply = await self._respond(state, text, parse, message_id)
            kept = await asyncio.get_running_loop().run_in_executor(
                self._keepers, contextvars.copy_context().run, self._keep_turn, state, parse,
                reply, received, message_id)
            if kept is None:  # another conversation or process handled it meanwhile
                logger.info("conversation %s: dropped message %s, handled elsewhere",
                            conversation_id, message_id)
                return []
            tracker, records = kept
            self._remember(state)
            await self._share(state, tracker)
            await self._notify(state.id, {"type": "turn", "status": state.status,
                                          "intent": parse.intent.name, "records": records,
                                          "channel": state.channel})
            if reply.handoff:
                await self._open_escalation(state, reply)
            await self._follow_reminders(state.id, reply)
            return reply.messages

    async def _respond(self, state: ConversationState, text: str, parse: ParseResult,
                       message_id: str | None) -> TurnResult:
        """Run the dialogue on the state: the Rasa events of the turn are added to it."""
        state.turns += 1
        state.last_active_at = time.time()
        parse_data = parse.to_dict()
        if parse.intent.name == FALLBACK_INTENT:
            state.fallback_count += 1
        conversation = Conversation(state.id, state.events, state.channel, state.vip,
                                    state.negative_streak)
        reply = await self.processor.handle_message(
            conversation, text, parse_data, paused=state.status in ("escalated", "agent"),
            message_id=message_id)
        state.negative_streak = conversation.negative_streak
        if reply.handoff and state.status == "bot":
            state.status = "escalated"
            state.escalated = True
            state.handoff = {"reason": reply.handoff.reason, "priority": reply.handoff.priority}
        return reply

    async def trigger_intent(self, conversation_id: str, intent: str,
                             entities: list[dict] | None = None) -> tuple[ConversationState, list[dict]]:
        """Run the bot as if the customer had said ``intent`` (a reminder firing, Rasa's
        ``POST /conversations/{id}/trigger_intent``); the customer's open chats get the bot's
        messages. Nothing happens while a person holds the conversation."""
        async with self.lock(conversation_id):
            state = (await self.get_state(conversation_id)).working_copy()
            if state.status in ("escalated", "agent"):
                return state, []
            conversation = Conversation(state.id, state.events, state.channel, state.vip,
                                        state.negative_streak)
            reply = await self.processor.trigger_intent(conversation, intent, entities)
            if reply.handoff and state.status == "bot":
                state.status, state.escalated = "escalated", True
                state.handoff = {"reason": reply.handoff.reason,
                                 "priority": reply.handoff.priority}
            state.last_active_at = time.time()
            self._remember(state)
            tracker = self.save_state(state)
            records = self._log_turn(state, None, reply, time.time(), None)
            await self._share(state, tracker)
            await self._notify(state.id, {"type": "turn", "status": state.status,
                                          "intent": intent, "records": records,
                                          "channel": state.channel})
            if reply.handoff:
                await self._open_escalation(state, reply)
            await self._follow_reminders(state.id, reply)
            for message in reply.messages:
                await self.hub.publish(CUSTOMER_TOPIC, {"conversation_id": state.id,
                                                        "event": {"type": "bot", **message}})
            return state, reply.messages

    async def _follow_reminders(self, conversation_id: str, reply: TurnResult) -> None:
        """Schedule and cancel the reminders the turn's actions asked for."""
        for event in reply.events:
            kind = event.get("event")
            if self.reminders is None or kind not in ("reminder", "cancel_reminder"):
                continue
            try:
                if kind == "reminder":
                    await self.reminders.schedule(conversation_id, event)
                else:
                    await self.reminders.cancel(conversation_id, event)
            except ValueError as exc:  # a malformed reminder from an action: say so, go on
                logger.error("conversation %s: %s", conversation_id, exc)

    async def fire_reminder(self, conversation_id: str, intent: str, entities) -> None:
        """A reminder's time came: its intent is triggered as if the customer said it."""
        if isinstance(entities, dict):
            entities = [{"entity": k, "value": v} for k, v in entities.items()]
        try:
            await self.trigger_intent(conversation_id, intent, list(entities or []))
        except ConversationNotFound:
            logger.warning("reminder for unknown conversation %s dropped", conversation_id)

    def _keep_turn(self, state: ConversationState, parse: ParseResult, reply: TurnResult,
                   received: float, message_id: str | None
                   ) -> tuple[dict, list[MessageRecord]] | None:
        """Keep a customer turn, on a worker thread and in one hop: claim its message id (None
        when another turn had it), log the turn, and fsync the log. The ack or REST reply
        follows, and from then on the message survives kill -9."""
        if message_id and not self.message_ids.claim_blocking(state.id, message_id):
            return None
        tracker = self.save_state(state)
        records = self._log_turn(state, parse, reply, received, message_id)
        if self.event_sync is not None:  # with the event broker's journal's (bot/broker)
            self.event_sync(self.log.sync)
        else:
            self.log.sync()
        return tracker, records

    def _log_turn(self, state: ConversationState, parse: ParseResult | None, reply: TurnResult,
                  received: float, message_id: str | None) -> list[MessageRecord]:
        records = [MessageRecord(
            id=message_id or new_id(), conversation_id=state.id, sender="user",
            text=parse.redacted_text, intent=parse.intent.name,
            confidence=float(parse.intent.confidence),
            entities=_redacted_entities(parse),
            sentiment_label=parse.sentiment.label, sentiment_score=float(parse.sentiment.score),
            data={"pii": sorted({p.kind for p in parse.pii})} if parse.pii else {},
            created_at=_utc(received),
            raw_text=self.raw_text.seal(parse.text, parse.redacted_text),
        )] if parse is not None else []
        now = time.time()
        for i, message in enumerate(reply.messages):
            shown = redact_bot_text(message.get("text", ""))
            records.append(MessageRecord(
                id=new_id(), conversation_id=state.id, sender="bot", text=shown,
                raw_text=self.raw_text.seal(message.get("text", ""), shown),
                intent=None, confidence=None, entities=[], sentiment_label=None,
                sentiment_score=None, data={k: v for k, v in message.items() if k != "text"},
                created_at=_utc(max(now, received) + i * 1e-6),
            ))
        for record in records:
            self.log.write(record)
        for action in reply.actions:
            self.log.write(EventRecord(id=new_id(), conversation_id=state.id, type="action",
                                       actor="bot", data={"name": action}, created_at=_utc(now)))
        return records

    def save_state(self, state: ConversationState) -> dict:
        """Log the state; returns the stored (sealed) tracker for the hub's copy."""
        new_events = state.take_unstreamed()
        if new_events and self.event_stream is not None:
            self.event_stream(state.id, new_events)
        tracker = self.tracker_seal.seal(state.to_dict())
        self.log.write(ConversationRecord(
            id=state.id, channel=state.channel, customer_id=state.customer_db_id,
            status=state.status, started_at=_utc(state.started_at),
            last_active_at=_utc(state.last_active_at), turns=state.turns,
            fallback_count=state.fallback_count, escalated=state.escalated,
            assigned_agent_id=state.assigned_agent_id, tracker_state=tracker,
            ended_at=_utc(state.ended_at) if state.ended_at else None,
            csat_rating=state.csat_rating, csat_comment=state.csat_comment,
        ))
        return tracker

    async def commit(self, state: ConversationState) -> None:
        """Store a state changed outside a turn (a claim, a rating); call it under lock()."""
        self._remember(state)
        await self._share(state, self.save_state(state))

    async def _notify(self, conversation_id: str, event: dict) -> None:
        for listener in self._listeners:
            try:
                await listener(conversation_id, event)
            except Exception:  # the customer's turn must not fail because a console did
                logger.exception("conversation listener failed on %s", event.get("type"))

    async def _open_escalation(self, state: ConversationState, reply: TurnResult) -> None:
        await self.handoffs.open(state.id, reply.handoff.reason, reply.handoff.priority)
