"""A deterministic demo shop: customers, products and orders to try the bot and the reports on.

``seed(engine)`` replaces the shop tables (customers, products, orders, order_items).
Conversation data is kept, but its link to a customer is cleared (``customer_id`` set to
NULL) because the customer it pointed at is gone; the transcripts stay readable.
Everything is derived from the seed and a fixed reference date, never from the clock.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, delete, insert, select, text, update
from tqdm import tqdm

from analytics.demo.catalog import CARRIERS, CATALOG, CITIES, FIRST_NAMES, LAST_NAMES, STREETS
from analytics.store.schema import ORDER_STATUSES, Conversation, Customer, Order, OrderItem, Product

logger = logging.getLogger(__name__)

REFERENCE_DATE = datetime(2026, 11, 1, 12, 0, 0)
N_CUSTOMERS = 300
N_PRODUCTS = 200
N_ORDERS = 3000
FIRST_ORDER_NUMBER = 10000
FIRST_CUSTOMER_NUMBER = 1001


@dataclass(frozen=True)
class SeedSummary:
    """What ``seed`` wrote; the checksum is equal for equal seeds."""

    seed: int
    customers: int
    products: int
    orders: int
    order_items: int
    orders_by_status: dict[str, int]
    checksum: str
    seconds: float


def seed(engine: Engine, *, seed: int = 7, progress: bool = True) -> SeedSummary:
    """Replace the shop tables with a demo shop generated from ``seed``."""
    started = time.perf_counter()
    rng = random.Random(seed)
    with tqdm(total=4, desc="Demo shop", unit="step", disable=not progress) as bar:
        bar.set_postfix_str("customers")
        customers, taste = _customers(rng)
        bar.update()
        bar.set_postfix_str("products")
        products = _products(rng)
        bar.update()
        bar.set_postfix_str("orders")
        orders, items = _orders(rng, customers, taste, products)
        bar.update()
        bar.set_postfix_str("writing")
        _replace_shop(engine, customers, products, orders, items)
        bar.update()
    by_status = {s: sum(o["status"] == s for o in orders) for s in ORDER_STATUSES}
    summary = SeedSummary(
        seed=seed,
        customers=len(customers),
        products=len(products),
        orders=len(orders),
        order_items=len(items),
        orders_by_status=by_status,
        checksum=_checksum(customers, products, orders, items),
        seconds=round(time.perf_counter() - started, 3),
    )
    logger.info(
        "Seeded demo shop (seed %d): %d customers, %d products, %d orders in %.2f s",
        seed,
        summary.customers,
        summary.products,
        summary.orders,
        summary.seconds,
    )
    return summary


def example_records(engine: Engine) -> list[dict[str, str]]:
    """For each order status, the newest order with it and its customer's email and name."""
    examples = []
    with engine.connect() as conn:
        for status in ORDER_STATUSES:
            row = conn.execute(
                select(
                    Order.order_number,
                    Order.status,
                    Customer.email,
                    Customer.name,
                    Customer.external_id,
                )
                .join(Customer, Customer.id == Order.customer_id)
                .where(Order.status == status)
                .order_by(Order.order_number.desc())
                .limit(1)
            ).one_or_none()
            if row is not None:
                examples.append(
                    {
                        "status": row.status,
                        "order_number": row.order_number,
                        "email": row.email,
                        "name": row.name,
                        "customer_id": row.external_id,
                    }
                )
    return examples


# -- generation ------------------------------------------------------------------------


def _customers(rng: random.Random) -> tuple[list[dict], list[dict]]:
    categories = list(CATALOG)
    pairs = rng.sample(range(len(FIRST_NAMES) * len(LAST_NAMES)), N_CUSTOMERS)
    customers, taste = [], []
    for i, pair in enumerate(pairs):
        first, last = FIRST_NAMES[pair // len(LAST_NAMES)], LAST_NAMES[pair % len(LAST_NAMES)]
        city, country = rng.choice(CITIES)
        signup = REFERENCE_DATE - timedelta(days=rng.uniform(20, 3 * 365), hours=rng.randint(0, 23))
        customers.append(
            {
                "id": i + 1,
                "external_id": f"C{FIRST_CUSTOMER_NUMBER + i}",
                "email": f"{first.lower()}.{last.lower()}@example.com",
                "name": f"{first} {last}",
                "phone": f"+1-{rng.randint(201, 989)}-555-{rng.randint(100, 199):04d}",
                "city": city,
                "country": country,
                "created_at": signup.replace(microsecond=0),
                "vip": False,
                "segment": None,
                "_address": f"{rng.randint(1, 999)} {rng.choice(STREETS)}, {city}, {country}",
            }
        )
        # Each customer mostly buys from one or two favourite categories and one price
        # tier; that is the signal the recommender's collaborative filtering learns.
        favourites = rng.sample(categories, 2)
        weights = {c: 0.25 for c in categories}
        weights[favourites[0]] = 6.0
        weights[favourites[1]] = 2.5
        taste.append(
            {
                "categories": categories,
                "weights": [weights[c] for c in categories],
                "premium": rng.random() < 0.35,
                "activity": rng.lognormvariate(0, 0.8),
            }
        )
    # The most active few are VIPs.
    for i in sorted(range(N_CUSTOMERS), key=lambda i: -taste[i]["activity"])[:12]:
        customers[i]["vip"] = True
    return customers, taste


def _products(rng: random.Random) -> list[dict]:
    per_category, extra = divmod(N_PRODUCTS, len(CATALOG))
    products = []
    for index, (category, (brands, nouns)) in enumerate(CATALOG.items()):
        combos = [(b, n) for b in brands for n in nouns]
        rng.shuffle(combos)
        for brand, (noun, low, high, blurb) in combos[: per_category + (index < extra)]:
            price = Decimal(f"{rng.randint(low, high)}.{rng.choice(('99', '49', '00', '95'))}")
            products.append(
                {
                    "id": len(products) + 1,
                    "sku": f"{category[:3].upper()}-{1000 + len(products) + 1}",
                    "name": f"{brand} {noun}",
                    "category": category,
                    "price": price,
                    "description": f"{blurb} By {brand}.",
                }
            )
    return products


def _orders(
    rng: random.Random, customers: list[dict], taste: list[dict], products: list[dict]
) -> tuple[list[dict], list[dict]]:
    by_category: dict[str, list[dict]] = {c: [] for c in CATALOG}
    for product in products:
        by_category[product["category"]].append(product)
    median = {c: sorted(p["price"] for p in ps)[len(ps) // 2] for c, ps in by_category.items()}
    # Some products are simply more popular than others.
    popularity = {
        p["id"]: 1 / (rank + 1) ** 0.7 for rank, p in enumerate(rng.sample(products, len(products)))
    }

    activity = [t["activity"] for t in taste]
    drafts = []
    # A few orders in the last days so pending, processing and shipped orders exist.
    recent_ages = [rng.uniform(0.05, 0.9) for _ in range(8)] + [
        rng.uniform(1, 10) for _ in range(40)
    ]
    for n in range(N_ORDERS):
        while True:
            who = rng.choices(range(N_CUSTOMERS), weights=activity)[0]
            signup = customers[who]["created_at"]
            if n < len(recent_ages):
                created = REFERENCE_DATE - timedelta(days=recent_ages[n])
            else:
                span = (REFERENCE_DATE - signup).total_seconds()
                created = signup + timedelta(seconds=rng.uniform(0.02, 1) * span)
            if created > signup:
                break
        drafts.append((created.replace(microsecond=0), who))
    drafts.sort()

    orders, items = [], []
    for number, (created, who) in enumerate(drafts):
        order_id = number + 1
        order = _order_lifecycle(rng, created)
        t = taste[who]
        lines: dict[int, dict] = {}
        for _ in range(rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]):
            category = rng.choices(t["categories"], weights=t["weights"])[0]
            pool = by_category[category]
            weights = [
                popularity[p["id"]] * (3 if (p["price"] >= median[category]) == t["premium"] else 1)
                for p in pool
            ]
            product = rng.choices(pool, weights=weights)[0]
            lines.setdefault(
                product["id"],
                {
                    "order_id": order_id,
                    "product_id": product["id"],
                    "quantity": rng.choices((1, 2, 3), weights=(85, 12, 3))[0],
                    "unit_price": product["price"],
                },
            )
        for line in lines.values():
            items.append({"id": len(items) + 1, **line})
        total = sum((line["unit_price"] * line["quantity"] for line in lines.values()), Decimal(0))
        orders.append(
            {
                "id": order_id,
                "order_number": f"A{FIRST_ORDER_NUMBER + number}",
                "customer_id": who + 1,
                "total": total,
                "shipping_address": customers[who]["_address"],
                "created_at": created,
                **order,
            }
        )
    _assign_segments(customers, orders)
    return orders, items


def _order_lifecycle(rng: random.Random, created: datetime) -> dict:
    """Status, refund status and the dates that go with them, from the order's age."""
    age = (REFERENCE_DATE - created).total_seconds() / 86400
    order = {
        "status": "pending",
        "refund_status": "none",
        "carrier": None,
        "tracking_number": None,
        "shipped_at": None,
        "delivered_at": None,
        "cancelled_at": None,
    }
    if rng.random() < 0.05:
        window = min(age, 2.0)
        order["status"] = "cancelled"
        order["cancelled_at"] = created + timedelta(days=rng.uniform(0.02, 1) * window)
        order["refund_status"] = rng.choices(
            ("none", "processing" if age < 5 else "refunded"), weights=(3, 7)
        )[0]
    elif age < 1:
        order["status"] = "pending"
    elif age < 3:
        order["status"] = "processing"
    else:
        shipped = created + timedelta(days=rng.uniform(0.5, min(2.5, age - 0.2)))
        carrier = rng.choice(CARRIERS)
        order.update(
            status="shipped",
            carrier=carrier,
            tracking_number=_tracking_number(rng, carrier),
            shipped_at=shipped,
        )
        if age >= 8:
            order["status"] = "delivered"
            order["delivered_at"] = shipped + timedelta(days=rng.uniform(1.5, 5))
            roll = rng.random()
            if age >= 12 and roll < 0.07:
                order["status"] = "returned"
                order["refund_status"] = (
                    rng.choice(("requested", "processing"))
                    if age < 30
                    else rng.choices(("refunded", "processing"), weights=(9, 1))[0]
                )
            elif roll > 0.98:
                order["refund_status"] = "rejected"
    for key in ("shipped_at", "delivered_at", "cancelled_at"):
        if order[key] is not None:
            order[key] = order[key].replace(microsecond=0)
    return order


def _tracking_number(rng: random.Random, carrier: str) -> str:
    digits = "0123456789"
    if carrier == "UPS":
        return (
            "1Z"
            + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=6))
            + "".join(rng.choices(digits, k=10))
        )
    if carrier == "USPS":
        return "9400" + "".join(rng.choices(digits, k=18))
    return "".join(rng.choices(digits, k=12 if carrier == "FedEx" else 10))


def _assign_segments(customers: list[dict], orders: list[dict]) -> None:
    counts = [0] * len(customers)
    for order in orders:
        counts[order["customer_id"] - 1] += 1
    for customer, count in zip(customers, counts, strict=True):
        if customer["vip"]:
            segment = "vip"
        elif count >= 15:
            segment = "loyal"
        elif count >= 5:
            segment = "regular"
        elif count >= 1:
            segment = "occasional"
        else:
            segment = "new"
        customer["segment"] = segment


# -- storage ---------------------------------------------------------------------------


def _replace_shop(
    engine: Engine,
    customers: list[dict],
    products: list[dict],
    orders: list[dict],
    items: list[dict],
) -> None:
    customer_rows = [{k: v for k, v in c.items() if not k.startswith("_")} for c in customers]
    with engine.begin() as conn:
        conn.execute(
            update(Conversation)
            .where(Conversation.customer_id.is_not(None))
            .values(customer_id=None)
        )
        for model in (OrderItem, Order, Product, Customer):
            conn.execute(delete(model))
        conn.execute(insert(Customer.__table__), customer_rows)
        conn.execute(insert(Product.__table__), products)
        conn.execute(insert(Order.__table__), orders)
        conn.execute(insert(OrderItem.__table__), items)
        if conn.dialect.name == "postgresql":
            # Rows were inserted with explicit ids; move the sequences past them.
            for table in ("customers", "products", "orders", "order_items"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                    )
                )


def _checksum(*tables: list[dict]) -> str:
    digest = hashlib.sha256()
    for rows in tables:
        for row in rows:
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()
