"""The agents' inbox beyond the queue (revision 0006): the email a waiting customer left,
recent handle times, private notes, saved replies, transfers, search, a customer's past
conversations and the resolved ones. Synchronous: call from a worker thread."""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from analytics.store.records import record_time
from analytics.store.schema import (
    Conversation,
    ConversationNote,
    Customer,
    Escalation,
    Message,
    Order,
    SavedReply,
    User,
)

AGENT_ROLES = ("agent", "admin")
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- waiting customers ----------------------------------------------------------------------


def set_contact_email(engine: Engine, escalation_id: int, email: str) -> None:
    """Keep the address a customer left for a reply by email on their escalation."""
    with engine.begin() as conn:
        conn.execute(update(Escalation).where(Escalation.id == escalation_id)
                     .values(contact_email=email[:255]))


def contact_email(engine: Engine, escalation_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(Escalation.contact_email)
                            .where(Escalation.id == escalation_id)).scalar_one_or_none()


def contact_emails(engine: Engine, escalation_ids: list[int]) -> dict[int, str]:
    if not escalation_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(Escalation.id, Escalation.contact_email)
                            .where(Escalation.id.in_(escalation_ids),
                                   Escalation.contact_email.is_not(None))).all()
    return {id_: email for id_, email in rows}


def recent_handle_seconds(engine: Engine, limit: int = 50) -> float | None:
    """The median time an agent held one of the latest ``limit`` finished escalations (claim
    to resolve or hand back); None when there are none yet."""
    query = (select(Escalation.claimed_at, Escalation.resolved_at)
             .where(Escalation.claimed_at.is_not(None), Escalation.resolved_at.is_not(None))
             .order_by(Escalation.resolved_at.desc()).limit(limit))
    with engine.connect() as conn:
        spans = [max(0.0, (end - start).total_seconds()) for start, end in conn.execute(query)]
    return statistics.median(spans) if spans else None


# -- agents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentAccount:
    id: int
    username: str
    display_name: str | None
    role: str

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    def to_dict(self) -> dict:
        return {**asdict(self), "shown_name": self.shown_name}


def agents(engine: Engine) -> list[AgentAccount]:
    """Everyone who may hold a conversation (agents and admins), by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(User.id, User.username, User.display_name, User.role)
                            .where(User.role.in_(AGENT_ROLES)).order_by(User.username)).all()
    return [AgentAccount(*row) for row in rows]


def agent_account(engine: Engine, user_id: int | None) -> AgentAccount | None:
    if user_id is None:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(User.id, User.username, User.display_name, User.role)
                           .where(User.id == user_id)).one_or_none()
    return AgentAccount(*row) if row else None


def set_display_name(engine: Engine, username: str, display_name: str | None) -> bool:
    """Set the name customers see for an agent; False when there is no such user."""
    with engine.begin() as conn:
        changed = conn.execute(update(User).where(User.username == username)
                               .values(display_name=display_name or None)).rowcount
    return changed == 1


def transfer_escalation(engine: Engine, escalation_id: int, from_agent: int, to_agent: int,
                        at: datetime) -> bool:
    """Give a claimed escalation to another agent; False when ``from_agent`` no longer has it."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status == "claimed",
                   Escalation.claimed_by == from_agent)
            .values(claimed_by=to_agent, claimed_at=at)
        ).rowcount
        if changed:
            conn.execute(update(Conversation)
                         .where(Conversation.id == select(Escalation.conversation_id)
                                .where(Escalation.id == escalation_id).scalar_subquery())
                         .values(assigned_agent_id=to_agent))
    return changed == 1


# -- private notes ------------------------------------------------------------------------------


def add_note(engine: Engine, conversation_id: str, author_id: int, text: str) -> dict:
    now = record_time()
    with engine.begin() as conn:
        note_id = conn.execute(insert(ConversationNote).values(
            conversation_id=conversation_id, author_id=author_id, text=text, created_at=now)
            .returning(ConversationNote.id)).scalar_one()
        author = conn.execute(select(User.username, User.display_name)
                              .where(User.id == author_id)).one_or_none()
    return {"id": note_id, "text": text, "at": now.isoformat(),
            "author": (author[1] or author[0]) if author else None}


def notes(engine: Engine, conversation_id: str) -> list[dict]:
    """The conversation's private notes, oldest first."""
    query = (select(ConversationNote.id, ConversationNote.text, ConversationNote.created_at,
                    User.username, User.display_name)
             .outerjoin(User, User.id == ConversationNote.author_id)
             .where(ConversationNote.conversation_id == conversation_id)
             .order_by(ConversationNote.created_at, ConversationNote.id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [{"id": id_, "text": text, "at": _iso(at), "author": shown or username}
            for id_, text, at, username, shown in rows]


# -- saved replies --------------------------------------------------------------------------------


class SavedReplyError(ValueError):
    pass


def saved_replies(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(SavedReply.id, SavedReply.shortcut, SavedReply.text)
                            .order_by(SavedReply.shortcut)).all()
    return [{"id": id_, "shortcut": shortcut, "text": text} for id_, shortcut, text in rows]


def add_saved_reply(engine: Engine, shortcut: str, text: str, author_id: int | None) -> dict:
    """A new saved reply; SavedReplyError when the shortcut is malformed or taken."""
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.fullmatch(shortcut):
        raise SavedReplyError("a shortcut is 1-32 lowercase letters, digits, '-' or '_', "
                              "e.g. 'refund-policy'")
    try:
        with engine.begin() as conn:
            reply_id = conn.execute(insert(SavedReply).values(
                shortcut=shortcut, text=text, created_by=author_id, created_at=record_time())
                .returning(SavedReply.id)).scalar_one()
    except IntegrityError:
        raise SavedReplyError(f"there is already a saved reply /{shortcut}; pick another "
                              "shortcut or delete that one first") from None
    return {"id": reply_id, "shortcut": shortcut, "text": text}


def delete_saved_reply(engine: Engine, reply_id: int) -> bool:
    with engine.begin() as conn:
        return conn.execute(delete(SavedReply).where(SavedReply.id == reply_id)).rowcount == 1


# -- search, history and the resolved view ----------------------------------------------------------


@dataclass(frozen=True)
class ConversationSummary:
    conversation_id: str
    status: str
    started_at: str | None
    last_active_at: str | None
    customer_name: str | None
    customer_email: str | None
    contact_email: str | None
    first_message: str | None
    matched: str | None = None  # the message text that matched a search

    def to_dict(self) -> dict:
        return asdict(self)


def _summaries(conn, query, matched: dict[str, str] | None = None) -> list[ConversationSummary]:
    rows = conn.execute(query).all()
    ids = [row[0] for row in rows]
    first = _first_customer_lines(conn, ids)
    emails = _contact_emails_of(conn, ids)
    return [ConversationSummary(
        conversation_id=cid, status=status, started_at=_iso(started), last_active_at=_iso(last),
        customer_name=name, customer_email=email, contact_email=emails.get(cid),
        first_message=first.get(cid), matched=(matched or {}).get(cid))
        for cid, status, started, last, name, email in rows]


def _conversation_query():
    return (select(Conversation.id, Conversation.status, Conversation.started_at,
                   Conversation.last_active_at, Customer.name, Customer.email)
            .outerjoin(Customer, Customer.id == Conversation.customer_id))


def _first_customer_lines(conn, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    first = (select(Message.conversation_id, func.min(Message.created_at).label("at"))
             .where(Message.conversation_id.in_(ids), Message.sender == "user")
             .group_by(Message.conversation_id).subquery())
    rows = conn.execute(select(Message.conversation_id, Message.text)
                        .join(first, (first.c.conversation_id == Message.conversation_id)
                              & (first.c.at == Message.created_at))
                        .where(Message.sender == "user")).all()
    return {cid: text for cid, text in rows}


def _contact_emails_of(conn, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = conn.execute(select(Escalation.conversation_id, Escalation.contact_email)
                        .where(Escalation.conversation_id.in_(ids),
                               Escalation.contact_email.is_not(None))
                        .order_by(Escalation.created_at)).all()
    return {cid: email for cid, email in rows}


def past_conversations(engine: Engine, customer_db_id: int, exclude: str | None = None,
                       limit: int = 20) -> list[ConversationSummary]:
    """The customer's other conversations, newest first."""
    query = (_conversation_query().where(Conversation.customer_id == customer_db_id)
             .order_by(Conversation.last_active_at.desc()).limit(limit))
    if exclude:
        query = query.where(Conversation.id != exclude)
    with engine.connect() as conn:
        return _summaries(conn, query)


def resolved_conversations(engine: Engine, limit: int = 50) -> list[ConversationSummary]:
    """Conversations agents resolved, most recently resolved first."""
    latest = (select(Escalation.conversation_id, func.max(Escalation.resolved_at).label("at"))
              .where(Escalation.status == "resolved").group_by(Escalation.conversation_id)
              .subquery())
    query = (_conversation_query().join(latest, latest.c.conversation_id == Conversation.id)
             .order_by(latest.c.at.desc()).limit(limit))
    with engine.connect() as conn:
        return _summaries(conn, query)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search_conversations(engine: Engine, term: str, limit: int = 50) -> list[ConversationSummary]:
    """Conversations whose customer's name or email, an order number of theirs, the email they
    left, or a message matches ``term`` (case-insensitive), most recent first."""
    term = term.strip()
    if not term:
        return []
    pattern = _like(term)
    by_customer = (select(Conversation.id)
                   .join(Customer, Customer.id == Conversation.customer_id)
                   .where(or_(func.lower(Customer.name).like(pattern, escape="\\"),
                              func.lower(Customer.email).like(pattern, escape="\\"))))
    by_order = (select(Conversation.id)
                .join(Order, Order.customer_id == Conversation.customer_id)
                .where(func.lower(Order.order_number).like(pattern, escape="\\")))
    by_contact = (select(Escalation.conversation_id)
                  .where(func.lower(Escalation.contact_email).like(pattern, escape="\\")))
    by_message = (select(Message.conversation_id, func.min(Message.text))
                  .where(func.lower(Message.text).like(pattern, escape="\\"),
                         Message.sender.in_(("user", "agent")))
                  .group_by(Message.conversation_id).limit(limit))
    with engine.connect() as conn:
        matched = {cid: text for cid, text in conn.execute(by_message)}
        ids = set(matched)
        for query in (by_customer, by_order, by_contact):
            ids.update(conn.execute(query.limit(limit)).scalars())
        if not ids:
            return []
        query = (_conversation_query().where(Conversation.id.in_(sorted(ids)))
                 .order_by(Conversation.last_active_at.desc()).limit(limit))
        return _summaries(conn, query, matched)
