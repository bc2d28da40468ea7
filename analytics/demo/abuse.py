"""Known abusive customers planted in the demo shop, so the customer-risk model can be
evaluated (precision and recall against this list).

``plant_abusers(engine)`` adds new customers (the seeded ones are left as they are), each with
orders, items and, for some patterns, complaint conversations, following one pattern:

- serial_returner: most orders returned and refunded;
- refund_claimer: orders refunded without being returned ("it never arrived"), complaints;
- cancel_churner: most orders cancelled soon after being placed;
- address_hopper: expensive orders, each shipped to a different address;
- big_ticket_refunder: a few very large orders, returned and refunded, with complaints.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, insert, select

from analytics.demo.catalog import CARRIERS, CITIES, FIRST_NAMES, LAST_NAMES, STREETS
from analytics.demo.rows import add_conversation, move_sequences, next_ids
from analytics.demo.seed import REFERENCE_DATE
from analytics.store.schema import Customer, Order, OrderItem, Product

PATTERNS = ("serial_returner", "refund_claimer", "cancel_churner", "address_hopper",
            "big_ticket_refunder")


@dataclass(frozen=True)
class PlantedCustomer:
    external_id: str
    pattern: str


def _address(rng: random.Random) -> tuple[str, str, str]:
    city, country = rng.choice(CITIES)
    return f"{rng.randint(1, 999)} {rng.choice(STREETS)}, {city}, {country}", city, country


def _lifecycle(rng: random.Random, created: datetime, outcome: str) -> dict:
    """Dates and statuses that fit each other (as the seeded orders' do)."""
    order = {"status": "delivered", "refund_status": "none", "carrier": rng.choice(CARRIERS),
             "tracking_number": str(rng.randint(10**11, 10**12 - 1)), "cancelled_at": None}
    shipped = created + timedelta(days=rng.uniform(0.5, 2))
    order["shipped_at"] = shipped.replace(microsecond=0)
    order["delivered_at"] = (shipped + timedelta(days=rng.uniform(1.5, 4))).replace(microsecond=0)
    if outcome == "returned":
        order.update(status="returned", refund_status="refunded")
    elif outcome == "refunded":
        order["refund_status"] = "refunded"  # refunded, yet never sent back
    elif outcome == "cancelled":
        order.update(status="cancelled", refund_status="refunded", carrier=None,
                     tracking_number=None, shipped_at=None, delivered_at=None,
                     cancelled_at=(created + timedelta(hours=rng.uniform(1, 20)))
                     .replace(microsecond=0))
    return order


def _plan(rng: random.Random, pattern: str) -> list[tuple[str, int, bool]]:
    """(outcome, items, premium) per order of a customer following ``pattern``."""
    if pattern == "serial_returner":
        n = rng.randint(14, 18)
        return [("returned" if rng.random() < 0.8 else "delivered", rng.randint(1, 2), False)
                for _ in range(n)]
    if pattern == "refund_claimer":
        n = rng.randint(8, 12)
        return [("refunded" if rng.random() < 0.7 else "delivered", 1, False) for _ in range(n)]
    if pattern == "cancel_churner":
        n = rng.randint(14, 20)
        return [("cancelled" if rng.random() < 0.75 else "delivered", 1, False)
                for _ in range(n)]
    if pattern == "address_hopper":
        return [("delivered", rng.randint(3, 4), True) for _ in range(rng.randint(8, 12))]
    return [("returned", 3, True) for _ in range(rng.randint(4, 6))]  # big_ticket_refunder


def plant_abusers(engine: Engine, *, seed: int = 7, count: int = 10) -> list[PlantedCustomer]:
    """Add ``count`` abusive customers (patterns in turn); returns who they are."""
    rng = random.Random(seed * 7919 + 13)
    planted: list[PlantedCustomer] = []
    with engine.begin() as conn:
        ids = next_ids(conn)
        products = conn.execute(select(Product.id, Product.price).order_by(Product.price)).all()
        if not products:
            raise ValueError("Seed the demo shop first (`carebot demo-data`): there are no "
                             "products to order.")
        taken = set(conn.execute(select(Customer.name)).scalars())
        pairs = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES
                 if f"{f} {last}" not in taken]
        rng.shuffle(pairs)
        expensive = products[-max(1, len(products) // 10):]
        customers, orders, items = [], [], []
        for i in range(count):
            pattern = PATTERNS[i % len(PATTERNS)]
            first, last = pairs[i]
            cid, external = ids["customer"] + i, f"C{ids['customer_number'] + i}"
            home, city, country = _address(rng)
            signup = (REFERENCE_DATE - timedelta(days=rng.uniform(400, 700))).replace(
                microsecond=0)
            customers.append({"id": cid, "external_id": external,
                              "email": f"{first.lower()}.{last.lower()}.{i}@example.net",
                              "name": f"{first} {last}",
                              "phone": f"+1-{rng.randint(201, 989)}-555-{rng.randint(200, 299)}",
                              "city": city, "country": country, "created_at": signup,
                              "vip": False, "segment": "regular"})
            for outcome, n_items, premium in _plan(rng, pattern):
                created = (signup + timedelta(days=rng.uniform(5, 380))).replace(microsecond=0)
                address = _address(rng)[0] if pattern == "address_hopper" else home
                lines = []
                for _ in range(n_items):
                    product_id, price = rng.choice(expensive if premium else products)
                    quantity = 3 if pattern == "big_ticket_refunder" else 1
                    lines.append({"id": ids["item"] + len(items) + len(lines),
                                  "order_id": ids["order"] + len(orders),
                                  "product_id": product_id, "quantity": quantity,
                                  "unit_price": price})
                items.extend(lines)
                orders.append({"id": ids["order"] + len(orders),
                               "order_number": f"A{ids['order_number'] + len(orders)}",
                               "customer_id": cid, "created_at": created,
                               "total": sum((Decimal(line["unit_price"]) * line["quantity"]
                                             for line in lines), Decimal(0)),
                               "shipping_address": address,
                               **_lifecycle(rng, created, outcome)})
            planted.append(PlantedCustomer(external, pattern))
        conn.execute(insert(Customer), customers)
        conn.execute(insert(Order), orders)
        conn.execute(insert(OrderItem), items)
        for i, who in enumerate(planted):
            if who.pattern not in ("refund_claimer", "big_ticket_refunder"):
                continue
            for k in range(rng.randint(2, 3)):
                add_conversation(
                    conn, rng, f"planted-{who.external_id}-{k}", customers[i]["id"],
                    REFERENCE_DATE - timedelta(days=rng.uniform(2, 60)),
                    [("user", "complaint", "negative", -0.8, "my parcel never arrived, again"),
                     ("bot", None, None, None, "I'm sorry to hear that.")])
        move_sequences(conn)
    return planted
