"""A known amount of dirt injected into the demo shop (``carebot demo-data --dirty``), so the
data-quality report can be shown to find all of it.

Every defect is listed in the returned manifest under the (check, subject) the report files it
under, with the ids it should name. Orphan rows need foreign keys off for a moment: SQLite
writes them on a connection without ``PRAGMA foreign_keys``, PostgreSQL with
``session_replication_role = replica`` (a superuser's right; without it they are skipped and
the manifest says so).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, create_engine, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from analytics.demo.rows import add_conversation
from analytics.demo.seed import REFERENCE_DATE
from analytics.store.schema import (
    ConversationFacts,
    Customer,
    Message,
    Order,
    OrderItem,
)

Key = tuple[str, str]  # (check, subject) as analytics/quality/checks.py names them


@dataclass
class DirtManifest:
    defects: dict[Key, set[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def add(self, check: str, subject: str, *ids: object) -> None:
        self.defects.setdefault((check, subject), set()).update(str(i) for i in ids)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.defects.values())

    def to_dict(self) -> dict:
        return {"defects": {f"{c}: {s}": sorted(ids) for (c, s), ids in self.defects.items()},
                "total": self.total, "skipped": self.skipped}


def inject_dirt(engine: Engine, *, seed: int = 7) -> DirtManifest:
    """Add duplicates, gaps, impossible values, orphans, empty conversations and stale
    rollups to a seeded demo shop; returns what was injected."""
    rng = random.Random(seed * 31 + 5)
    manifest = DirtManifest()
    with engine.begin() as conn:
        customers = conn.execute(select(Customer.id, Customer.external_id, Customer.email,
                                        Customer.name, Customer.created_at)
                                 .order_by(Customer.id)).all()
        if len(customers) < 20:
            raise ValueError("Seed the demo shop first (`carebot demo-data`): --dirty adds to "
                             "an existing shop.")
        top = customers[-1].id
        number = max(int(c.external_id[1:]) for c in customers if c.external_id[1:].isdigit())
        picked = rng.sample(customers[:-1], 12)
        rows = []
        # Duplicates: the same mailbox written differently; the same person's name retyped.
        for i, (original, email) in enumerate([
                (picked[0], f"  {picked[0].email.upper()} "),
                (picked[1], picked[1].email.replace("@", "+shop@")),
                (picked[2], picked[2].email.title())]):
            rows.append({"id": top + 1 + i, "external_id": f"C{number + 1 + i}", "email": email,
                         "name": f"Dupe Account {i}", "city": "Berlin", "country": "DE",
                         "created_at": original.created_at, "vip": False})
            manifest.add("duplicate_customers", "customers.email (normalised)",
                         f"C{number + 1 + i}")
        for i, original in enumerate(picked[3:5]):
            cid = top + 4 + i
            rows.append({"id": cid, "external_id": f"C{number + 4 + i}",
                         "email": f"retyped.{i}@example.org",
                         "name": f"  {original.name.upper().replace(' ', '   ')} ",
                         "city": "Paris", "country": "FR", "created_at": original.created_at,
                         "vip": False})
            manifest.add("duplicate_customers", "customers.name (normalised)",
                         f"C{number + 4 + i}")
        conn.execute(insert(Customer), rows)
        # Missing values.
        for c in picked[5:9]:
            conn.execute(update(Customer).where(Customer.id == c.id).values(city=None))
            manifest.add("missing_values", "customers.city", c.external_id)
        for c in picked[9:11]:
            conn.execute(update(Customer).where(Customer.id == c.id).values(country="  "))
            manifest.add("missing_values", "customers.country", c.external_id)
        orders = conn.execute(select(Order.id, Order.order_number, Order.customer_id)
                              .order_by(Order.id)).all()
        chosen = rng.sample(orders, 9)
        for o in chosen[:3]:
            conn.execute(update(Order).where(Order.id == o.id).values(shipping_address=""))
            manifest.add("missing_values", "orders.shipping_address", o.order_number)
        # Impossible values.
        for o in chosen[3:6]:
            conn.execute(update(Order).where(Order.id == o.id).values(total=-abs(rng.randint(5,
                                                                                     90))))
            manifest.add("impossible_values", "orders.total < 0", o.order_number)
        signups = {c.id: c.created_at for c in customers}
        for o in chosen[6:9]:
            early = signups[o.customer_id] - timedelta(days=rng.randint(3, 40))
            conn.execute(update(Order).where(Order.id == o.id)
                         .values(created_at=early, shipped_at=None, delivered_at=None,
                                 cancelled_at=None, carrier=None, tracking_number=None,
                                 status="pending", refund_status="none"))
            manifest.add("impossible_values", "orders placed before the customer existed",
                         o.order_number)
        # Conversations: clean ones, some rated impossibly, empty ones, stale rollups.
        line = [("user", "order_status", "neutral", 0.0, "where is my order"),
                ("bot", None, None, None, "Let me check.")]
        start = REFERENCE_DATE - timedelta(days=3)
        for i in range(6):
            add_conversation(conn, rng, f"dirt-ok-{i}", None, start + timedelta(hours=i), line)
        for i, rating in enumerate((0, 6, 9)):
            cid = f"dirt-rated-{i}"
            add_conversation(conn, rng, cid, None, start + timedelta(hours=10 + i), line,
                             csat_rating=rating)
            manifest.add("impossible_values", "conversations.csat_rating outside 1-5", cid)
        for i in range(3):
            cid = f"dirt-empty-{i}"
            add_conversation(conn, rng, cid, None, start + timedelta(hours=20 + i), [])
            manifest.add("empty_conversations", "conversations without messages", cid)
        for i in range(2):
            cid = f"dirt-nofacts-{i}"
            add_conversation(conn, rng, cid, None, start + timedelta(hours=30 + i), line,
                             facts=False)
            manifest.add("stale_rollups", "conversations without rollups", cid)
        for i in range(2):
            cid = f"dirt-stale-{i}"
            add_conversation(conn, rng, cid, None, start + timedelta(hours=40 + i), line)
            conn.execute(update(ConversationFacts)
                         .where(ConversationFacts.conversation_id == cid)
                         .values(user_messages=ConversationFacts.user_messages + 3))
            manifest.add("stale_rollups", "rollups older than or different from the messages",
                         cid)
    _orphans(engine, rng, manifest)
    return manifest


def _orphans(engine: Engine, rng: random.Random, manifest: DirtManifest) -> None:
    # Its own engine: the store's engine turns SQLite's foreign keys on for every connection.
    loose = create_engine(engine.url)
    try:
        with loose.begin() as conn:
            if conn.dialect.name == "postgresql":
                try:
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
                except DBAPIError:
                    manifest.skipped.append("orphan rows: PostgreSQL allows them only to a "
                                            "superuser (session_replication_role)")
                    return
            top = conn.execute(select(OrderItem.id).order_by(OrderItem.id.desc()).limit(1)
                               ).scalar() or 0
            product = conn.execute(select(OrderItem.product_id).limit(1)).scalar()
            for i in range(2):
                conn.execute(insert(OrderItem).values(id=top + 1 + i, order_id=900_000 + i,
                                                      product_id=product, quantity=1,
                                                      unit_price=10))
                manifest.add("orphan_rows", "order_items.order_id -> orders", top + 1 + i)
            for i in range(2):
                mid = f"00000000-dead-4000-8000-{rng.getrandbits(48):012x}"
                conn.execute(insert(Message).values(
                    id=mid, conversation_id=f"dirt-ghost-{i}", sender="user", text="hello?",
                    entities=[], data={}, created_at=REFERENCE_DATE - timedelta(days=1)))
                manifest.add("orphan_rows", "messages.conversation_id -> conversations", mid)
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT setval(pg_get_serial_sequence('order_items', 'id'), "
                                  "(SELECT MAX(id) + 1 FROM order_items), false)"))
    finally:
        loose.dispose()
