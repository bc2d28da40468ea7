"""Data-quality checks over the analytics store, each a count with examples, on SQLite and
PostgreSQL: duplicate customers, missing values per column, impossible values, orphan rows,
conversations with no messages and stale rollups. Synchronous: call from a worker thread."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, String, Text, and_, func, not_, or_, select

from analytics.store.schema import (
    Conversation,
    ConversationFacts,
    CsatPrediction,
    Customer,
    CustomerSegment,
    Escalation,
    Event,
    Message,
    Order,
    OrderItem,
    Product,
)

MAX_IDS = 1000  # ids kept per finding (the count is always exact)
SHOWN = 5


@dataclass(frozen=True)
class Finding:
    """One check on one subject (a table, a column, a rule) that found something."""

    check: str  # duplicate_customers | missing_values | impossible_values | orphan_rows |
    #             empty_conversations | stale_rollups
    subject: str  # e.g. "customers.email", "orders.total < 0"
    count: int
    ids: list[str] = field(default_factory=list)  # of the offending rows (up to MAX_IDS)
    examples: list[str] = field(default_factory=list)
    advice: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "subject": self.subject, "count": self.count,
                "examples": self.examples, "advice": self.advice}


CHECK_TITLES = {
    "duplicate_customers": "Duplicate customers",
    "missing_values": "Missing values",
    "impossible_values": "Impossible values",
    "orphan_rows": "Orphan rows",
    "empty_conversations": "Conversations with no messages",
    "stale_rollups": "Stale rollups",
}


def _finding(check: str, subject: str, ids: list[Any], advice: str,
             describe: Callable[[Any], str] = str, count: int | None = None) -> Finding:
    ids = list(ids)
    return Finding(check, subject, len(ids) if count is None else count,
                   [str(i) for i in ids[:MAX_IDS]], [describe(i) for i in ids[:SHOWN]], advice)


# -- duplicates ----------------------------------------------------------------------------------


def normalise_email(email: str | None) -> str:
    """Case and spaces ignored, and the ``+tag`` of the local part (one mailbox)."""
    text = (email or "").strip().lower()
    local, at, domain = text.partition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}" if at else text


def normalise_name(name: str | None) -> str:
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def duplicate_customers(conn: Connection) -> list[Finding]:
    rows = conn.execute(select(Customer.id, Customer.external_id, Customer.email,
                               Customer.name).order_by(Customer.id)).all()
    findings = []
    for subject, key in (("customers.email (normalised)", lambda r: normalise_email(r.email)),
                         ("customers.name (normalised)", lambda r: normalise_name(r.name))):
        groups: dict[str, list] = defaultdict(list)
        for row in rows:
            k = key(row)
            if k:
                groups[k].append(row)
        extra = [(k, r) for k, members in groups.items() if len(members) > 1
                 for r in members[1:]]  # the first of each group is the one to keep
        if extra:
            findings.append(_finding(
                "duplicate_customers", subject, [r.external_id for _, r in extra],
                "merge the duplicates into the oldest customer record (orders, conversations)",
                count=len(extra)))
            findings[-1].examples[:] = [
                f"{r.external_id} duplicates {groups[k][0].external_id} ({k})"
                for k, r in extra[:SHOWN]]
    return findings


# -- missing values ------------------------------------------------------------------------------

# Columns that must hold a value, beyond those the schema declares NOT NULL; text columns are
# also missing when blank.
REQUIRED = {
    Customer: ("external_id", "email", "name", "city", "country", "created_at"),
    Product: ("sku", "name", "category", "price"),
    Order: ("order_number", "customer_id", "status", "total", "shipping_address",
            "created_at"),
    OrderItem: ("order_id", "product_id", "quantity", "unit_price"),
    Conversation: ("channel", "status", "started_at", "last_active_at"),
    Message: ("conversation_id", "sender", "text", "created_at"),
}


def missing_values(conn: Connection) -> list[Finding]:
    findings = []
    for model, columns in REQUIRED.items():
        table = model.__table__
        key = next(table.c[k] for k in ("external_id", "order_number", "sku", "id")
                   if k in table.c)
        for name in columns:
            column = table.c[name]
            missing = column.is_(None)
            if isinstance(column.type, String | Text):
                missing = or_(missing, func.trim(column) == "")
            total = conn.execute(select(func.count()).where(missing)).scalar_one()
            if total:
                ids = conn.execute(select(key).where(missing).order_by(key)
                                   .limit(MAX_IDS)).scalars().all()
                findings.append(_finding("missing_values", f"{table.name}.{name}", ids,
                                         f"fill in {table.name}.{name} at the source, or the "
                                         "models impute or drop these rows", count=total))
    return findings


# -- impossible values ---------------------------------------------------------------------------


def impossible_values(conn: Connection, now: datetime) -> list[Finding]:
    O, CU, OI, P = Order, Customer, OrderItem, Product  # noqa: E741
    future = now + timedelta(days=1)
    rules: list[tuple[str, Any, Any, str]] = [
        ("orders.total < 0", O.order_number, O.total < 0, "a total cannot be negative"),
        ("order_items.quantity < 1", OI.id, OI.quantity < 1, "a line orders at least one"),
        ("order_items.unit_price < 0", OI.id, OI.unit_price < 0, "a price cannot be negative"),
        ("products.price < 0", P.sku, P.price < 0, "a price cannot be negative"),
        ("orders.shipped_at before created_at", O.order_number, O.shipped_at < O.created_at,
         "an order ships after it is placed"),
        ("orders.delivered_at before shipped_at", O.order_number,
         O.delivered_at < O.shipped_at, "an order arrives after it ships"),
        ("orders.created_at in the future", O.order_number, O.created_at > future,
         "check the clock or time zone of the shop's export"),
        ("conversations.csat_rating outside 1-5", Conversation.id,
         or_(Conversation.csat_rating < 1, Conversation.csat_rating > 5),
         "ratings are whole numbers from 1 to 5"),
        ("messages.sentiment_score outside -1..1", Message.id,
         or_(Message.sentiment_score < -1, Message.sentiment_score > 1),
         "sentiment polarity runs from -1 to 1"),
        ("messages.confidence outside 0..1", Message.id,
         or_(Message.confidence < 0, Message.confidence > 1), "a confidence is a probability"),
    ]
    findings = []
    for subject, key, condition, advice in rules:
        total = conn.execute(select(func.count()).select_from(key.class_).where(condition)
                             ).scalar_one()
        if total:
            ids = conn.execute(select(key).where(condition).order_by(key).limit(MAX_IDS)
                               ).scalars().all()
            findings.append(_finding("impossible_values", subject, ids, advice, count=total))
    before = (select(O.order_number).join(CU, CU.id == O.customer_id)
              .where(O.created_at < CU.created_at))
    ids = conn.execute(before.order_by(O.order_number)).scalars().all()
    if ids:
        findings.append(_finding("impossible_values", "orders placed before the customer "
                                 "existed", ids, "an order's customer signed up before it"))
    return findings


# -- orphans ---------------------------------------------------------------------------------------

# (child column, parent column, key shown): rows whose reference points at nothing
ORPHANS = (
    (Order.customer_id, Customer.id, Order.order_number),
    (OrderItem.order_id, Order.id, OrderItem.id),
    (OrderItem.product_id, Product.id, OrderItem.id),
    (Conversation.customer_id, Customer.id, Conversation.id),
    (Message.conversation_id, Conversation.id, Message.id),
    (Event.conversation_id, Conversation.id, Event.id),
    (Escalation.conversation_id, Conversation.id, Escalation.id),
    (ConversationFacts.conversation_id, Conversation.id, ConversationFacts.conversation_id),
    (CustomerSegment.customer_id, Customer.id, CustomerSegment.customer_id),
    (CsatPrediction.conversation_id, Conversation.id, CsatPrediction.conversation_id),
)


def orphan_rows(conn: Connection) -> list[Finding]:
    findings = []
    for child, parent, key in ORPHANS:
        exists = select(parent).where(parent == child).exists()
        condition = and_(child.is_not(None), not_(exists))
        total = conn.execute(select(func.count()).select_from(child.class_).where(condition)
                             ).scalar_one()
        if total:
            ids = conn.execute(select(key).where(condition).order_by(key).limit(MAX_IDS)
                               ).scalars().all()
            findings.append(_finding(
                "orphan_rows", f"{child.class_.__tablename__}.{child.key} -> "
                f"{parent.class_.__tablename__}", ids,
                "the rows they point at were deleted: restore them or delete these",
                count=total))
    return findings


# -- conversations ----------------------------------------------------------------------------


def empty_conversations(conn: Connection) -> list[Finding]:
    has_message = select(Message.id).where(Message.conversation_id == Conversation.id).exists()
    ids = conn.execute(select(Conversation.id).where(not_(has_message))
                       .order_by(Conversation.id)).scalars().all()
    if not ids:
        return []
    return [_finding("empty_conversations", "conversations without messages", ids,
                     "opened and never used (a widget loaded?) or their messages were lost; "
                     "reports skip them")]


def stale_rollups(conn: Connection) -> list[Finding]:
    C, F, M = Conversation, ConversationFacts, Message  # noqa: N806
    users = (select(M.conversation_id, func.count().label("n"))
             .where(M.sender == "user").group_by(M.conversation_id).subquery())
    advice = "run `carebot analytics rebuild-facts`"
    findings = []
    missing = conn.execute(
        select(C.id).join(users, users.c.conversation_id == C.id)
        .outerjoin(F, F.conversation_id == C.id).where(F.conversation_id.is_(None))
        .order_by(C.id)).scalars().all()
    if missing:
        findings.append(_finding("stale_rollups", "conversations without rollups", missing,
                                 advice))
    wrong = conn.execute(
        select(C.id).join(F, F.conversation_id == C.id)
        .outerjoin(users, users.c.conversation_id == C.id)
        .where(or_(F.updated_at < C.last_active_at,
                   F.user_messages != func.coalesce(users.c.n, 0).cast(Integer)))
        .order_by(C.id)).scalars().all()
    if wrong:
        findings.append(_finding("stale_rollups", "rollups older than or different from the "
                                 "messages", wrong, advice))
    return findings


def run_checks(conn: Connection, now: datetime) -> list[Finding]:
    """Every check, in a fixed order; only subjects with something to report appear."""
    return [*duplicate_customers(conn), *missing_values(conn), *impossible_values(conn, now),
            *orphan_rows(conn), *empty_conversations(conn), *stale_rollups(conn)]
