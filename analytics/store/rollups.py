"""Per-conversation rollups (``conversation_facts``, ``conversation_intent_facts``).

Reports read these instead of scanning the message table, which is what keeps them fast at
a million messages. The conversation log calls :func:`refresh_facts` in the same
transaction as every batch it writes, so the rollups are never behind the messages;
:func:`rebuild_facts` recomputes them all (after an import, or to repair them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from tqdm import tqdm

from analytics.store.records import naive_utc_now
from analytics.store.schema import Conversation, ConversationFacts, ConversationIntentFacts, Message
from analytics.store.upsert import upsert
from nlp.types import FALLBACK_INTENT

logger = logging.getLogger(__name__)

# Intents that are conversation mechanics, not a reason to contact support.
SMALL_TALK = frozenset(
    {"greet", "goodbye", "thank_you", "affirm", "deny", "bot_challenge", "nlu_fallback"}
)
_CHUNK = 500

C = Conversation.__table__
M = Message.__table__
F = ConversationFacts.__table__
IF = ConversationIntentFacts.__table__


@dataclass(slots=True)
class _IntentTally:
    messages: int = 0
    negative_messages: int = 0
    sentiment_n: int = 0
    sentiment_sum: float = 0.0
    first_at: datetime | None = None


@dataclass(slots=True)
class ConversationSummary:
    """What one conversation's messages add up to (one ``conversation_facts`` row)."""

    conversation_id: str
    user_messages: int = 0
    bot_messages: int = 0
    agent_messages: int = 0
    fallback_messages: int = 0
    negative_messages: int = 0
    sentiment_n: int = 0
    sentiment_sum: float = 0.0
    sentiment_first: float | None = None
    sentiment_last: float | None = None
    sentiment_min: float | None = None
    primary_intent: str | None = None
    last_intent: str | None = None
    first_message_at: datetime | None = None
    last_message_at: datetime | None = None
    ended_unresolved: bool = False
    intents: dict[str, _IntentTally] = field(default_factory=dict)

    def add(self, sender: str, intent: str | None, label: str | None, score: float | None,
            created_at: datetime) -> None:
        """Count one message; call in the order the messages were written."""
        if self.first_message_at is None:
            self.first_message_at = created_at
        self.last_message_at = created_at
        if sender == "bot":
            self.bot_messages += 1
            return
        if sender == "agent":
            self.agent_messages += 1
            return
        self.user_messages += 1
        negative = label == "negative"
        self.negative_messages += negative
        if intent == FALLBACK_INTENT:
            self.fallback_messages += 1
        if intent is not None:
            self.last_intent = intent
            if self.primary_intent is None and intent not in SMALL_TALK:
                self.primary_intent = intent
        tally = None
        if intent is not None:
            tally = self.intents.setdefault(intent, _IntentTally(first_at=created_at))
            tally.messages += 1
            tally.negative_messages += negative
        if score is not None:
            score = float(score)
            self.sentiment_n += 1
            self.sentiment_sum += score
            if self.sentiment_first is None:
                self.sentiment_first = score
            self.sentiment_last = score
            self.sentiment_min = score if self.sentiment_min is None else min(self.sentiment_min,
                                                                              score)
            if tally is not None:
                tally.sentiment_n += 1
                tally.sentiment_sum += score

    def finish(self, tracker_state: dict[str, Any] | None) -> None:
        """Decide whether the bot was left waiting on the customer when they stopped."""
        state = tracker_state or {}
        self.ended_unresolved = self.user_messages > 0 and (
            self.last_intent == FALLBACK_INTENT
            or self.primary_intent is None  # never said what they needed
            or bool(state.get("active_form"))  # the bot had asked for a detail
            or bool(state.get("pending_question"))  # e.g. "shall I get a person?"
        )
        if self.primary_intent is None and self.last_intent is not None:
            self.primary_intent = next(iter(self.intents), None)

    def fact_row(self, now: datetime) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "user_messages": self.user_messages,
            "bot_messages": self.bot_messages,
            "agent_messages": self.agent_messages,
            "fallback_messages": self.fallback_messages,
            "negative_messages": self.negative_messages,
            "sentiment_n": self.sentiment_n,
            "sentiment_sum": self.sentiment_sum,
            "sentiment_first": self.sentiment_first,
            "sentiment_last": self.sentiment_last,
            "sentiment_min": self.sentiment_min,
            "primary_intent": self.primary_intent,
            "last_intent": self.last_intent,
            "first_message_at": self.first_message_at,
            "last_message_at": self.last_message_at,
            "ended_unresolved": self.ended_unresolved,
            "updated_at": now,
        }

    def intent_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "conversation_id": self.conversation_id,
                "intent": intent,
                "messages": t.messages,
                "negative_messages": t.negative_messages,
                "sentiment_n": t.sentiment_n,
                "sentiment_sum": t.sentiment_sum,
                "first_at": t.first_at,
            }
            for intent, t in sorted(self.intents.items())
        ]


def summarise(conversation_id: str, messages: Iterable[Sequence[Any]],
              tracker_state: dict[str, Any] | None = None) -> ConversationSummary:
    """Summarise ``(sender, intent, sentiment_label, sentiment_score, created_at)`` rows."""
    summary = ConversationSummary(conversation_id)
    for sender, intent, label, score, created_at in messages:
        summary.add(sender, intent, label, score, created_at)
    summary.finish(tracker_state)
    return summary


def refresh_facts(conn: Connection, conversation_ids: Iterable[str],
                  known_states: dict[str, dict | None] | None = None) -> int:
    """Recompute the rollups of these conversations inside the caller's transaction.
    ``known_states``: tracker states just written (the conversation log's batch), which need
    not be read back (a stored tracker holds the whole sealed history)."""
    ids = sorted({cid for cid in conversation_ids if cid is not None})
    for start in range(0, len(ids), _CHUNK):
        _refresh_chunk(conn, ids[start : start + _CHUNK], known_states or {})
    return len(ids)


def _refresh_chunk(conn: Connection, ids: list[str], known: dict[str, dict | None]) -> None:
    unknown = [cid for cid in ids if cid not in known]
    states = {cid: known[cid] for cid in ids if cid in known}
    if unknown:
        states.update(conn.execute(
            select(C.c.id, C.c.tracker_state).where(C.c.id.in_(unknown))).all())
    rows = conn.execute(
        select(M.c.conversation_id, M.c.sender, M.c.intent, M.c.sentiment_label,
               M.c.sentiment_score, M.c.created_at)
        .where(M.c.conversation_id.in_(ids))
        .order_by(M.c.conversation_id, M.c.created_at, M.c.id)
    )
    by_conversation: dict[str, list[tuple]] = {cid: [] for cid in states}
    for row in rows:
        by_conversation.setdefault(row[0], []).append(tuple(row[1:]))
    _store(conn, [summarise(cid, msgs, states.get(cid)) for cid, msgs in
                  sorted(by_conversation.items())])


def _store(conn: Connection, summaries: list[ConversationSummary]) -> None:
    if not summaries:
        return
    now = naive_utc_now()
    dialect = conn.dialect.name
    # Upserts only (no delete-then-insert): two processes refreshing the same conversation
    # at once then cannot collide on a primary key.
    conn.execute(upsert(F, dialect), [s.fact_row(now) for s in summaries])
    intent_rows = [row for s in summaries for row in s.intent_rows()]
    if intent_rows:
        conn.execute(upsert(IF, dialect), intent_rows)


def rebuild_facts(engine: Engine, *, progress: bool = True, batch: int = 2000) -> int:
    """Recompute every conversation's rollups from its messages; returns how many."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(C)).scalar_one()
    done = 0
    with tqdm(total=total, desc="conversation facts", unit="conv", disable=not progress) as bar:
        for ids in _id_batches(engine, batch):
            with engine.begin() as conn:
                refresh_facts(conn, ids)
            done += len(ids)
            bar.update(len(ids))
    logger.info("Rebuilt the facts of %d conversations", done)
    return done


def refresh_stale_facts(engine: Engine, *, progress: bool = True, batch: int = 2000) -> int:
    """Build the rollups of conversations that have none or changed since (e.g. written
    before this table existed); returns how many were refreshed."""
    stale = (
        select(C.c.id)
        .select_from(C.outerjoin(F, F.c.conversation_id == C.c.id))
        .where(F.c.conversation_id.is_(None) | (F.c.updated_at < C.c.last_active_at))
        .order_by(C.c.id)
    )
    with engine.connect() as conn:
        ids = list(conn.execute(stale).scalars())
    with tqdm(total=len(ids), desc="conversation facts", unit="conv",
              disable=not progress or not ids) as bar:
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            with engine.begin() as conn:
                refresh_facts(conn, chunk)
            bar.update(len(chunk))
    if ids:
        logger.info("Refreshed the facts of %d conversations", len(ids))
    return len(ids)


def _id_batches(engine: Engine, batch: int) -> Iterator[list[str]]:
    last: str | None = None
    while True:
        query = select(C.c.id).order_by(C.c.id).limit(batch)
        if last is not None:
            query = query.where(C.c.id > last)
        with engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        if not ids:
            return
        yield ids
        last = ids[-1]
