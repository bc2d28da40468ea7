"""The demo shop is deterministic, complete and internally consistent."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, func, select

from analytics.demo.seed import REFERENCE_DATE, example_records, seed
from analytics.store.db import make_engine, migrate
from analytics.store.records import ConversationRecord
from analytics.store.schema import (
    ORDER_STATUSES,
    Conversation,
    Customer,
    Order,
    OrderItem,
    Product,
)
from analytics.store.writer import ConversationLog


def database_checksum(engine: Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for model in (Customer, Product, Order, OrderItem):
            for row in conn.execute(select(model.__table__).order_by(model.id)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def seeded(engine) -> Engine:
    seed(engine, seed=7, progress=False)
    return engine


def test_the_same_seed_gives_identical_data(tmp_path):
    checksums = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        migrate(url)
        engine = make_engine(url)
        summary = seed(engine, seed=7, progress=False)
        checksums.append((summary.checksum, database_checksum(engine)))
        engine.dispose()
    assert checksums[0] == checksums[1]


def test_a_different_seed_gives_different_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    migrate(url)
    engine = make_engine(url)
    first = seed(engine, seed=7, progress=False).checksum
    assert seed(engine, seed=8, progress=False).checksum != first
    engine.dispose()


def test_shop_has_customers_products_and_orders_in_every_status(seeded):
    with seeded.connect() as conn:
        statuses = dict(
            conn.execute(select(Order.status, func.count()).group_by(Order.status)).all()
        )
        customers = conn.execute(select(func.count()).select_from(Customer)).scalar()
        products = conn.execute(select(func.count()).select_from(Product)).scalar()
        vips = conn.execute(select(func.count()).where(Customer.vip)).scalar()
    assert set(statuses) == set(ORDER_STATUSES) and sum(statuses.values()) == 3000
    assert (customers, products) == (300, 200) and 0 < vips < 30


def test_orders_have_dates_refunds_and_tracking_that_fit_their_status(seeded):
    with seeded.connect() as conn:
        orders = conn.execute(select(Order.__table__)).all()
        signups = dict(conn.execute(select(Customer.id, Customer.created_at)).all())
    for o in orders:
        assert signups[o.customer_id] < o.created_at <= REFERENCE_DATE
        shipped = o.status in ("shipped", "delivered", "returned")
        assert (o.shipped_at is not None) == (o.tracking_number is not None) == shipped
        assert (o.delivered_at is not None) == (o.status in ("delivered", "returned"))
        assert (o.cancelled_at is not None) == (o.status == "cancelled")
        if shipped:
            assert (
                o.created_at < o.shipped_at < (o.delivered_at or REFERENCE_DATE) <= REFERENCE_DATE
            )
            assert o.carrier in ("UPS", "FedEx", "USPS", "DHL")
        if o.status == "returned":
            assert o.refund_status in ("requested", "processing", "refunded")
        if o.status in ("pending", "processing", "shipped"):
            assert o.refund_status == "none"


def test_order_totals_match_their_items(seeded):
    with seeded.connect() as conn:
        sums = dict(
            conn.execute(
                select(
                    OrderItem.order_id, func.sum(OrderItem.unit_price * OrderItem.quantity)
                ).group_by(OrderItem.order_id)
            ).all()
        )
        totals = dict(conn.execute(select(Order.id, Order.total)).all())
    assert set(sums) == set(totals)
    assert all(abs(sums[i] - totals[i]) < 0.005 for i in totals)


def test_numbers_and_emails_follow_the_shop_conventions(seeded):
    with seeded.connect() as conn:
        numbers = conn.execute(select(Order.order_number).order_by(Order.id)).scalars().all()
        customers = conn.execute(select(Customer.external_id, Customer.email)).all()
    assert numbers[0] == "A10000" and all(n[0] == "A" and len(n) == 6 for n in numbers)
    assert all(c.external_id.startswith("C") and len(c.external_id) == 5 for c in customers)
    assert all(c.email.endswith("@example.com") and "." in c.email.split("@")[0] for c in customers)


def test_reseeding_keeps_conversations_but_unlinks_their_customer(seeded):
    with ConversationLog(seeded) as log:
        log.write(ConversationRecord(id="web-vip", customer_id=1))
    seed(seeded, seed=7, progress=False)
    with seeded.connect() as conn:
        assert conn.execute(select(Conversation.customer_id)).all() == [(None,)]


def test_examples_give_one_real_order_per_status(seeded):
    examples = example_records(seeded)
    assert [e["status"] for e in examples] == list(ORDER_STATUSES)
    with seeded.connect() as conn:
        for example in examples:
            email = conn.execute(
                select(Customer.email)
                .join(Order, Order.customer_id == Customer.id)
                .where(Order.order_number == example["order_number"])
            ).scalar()
            assert email == example["email"]
