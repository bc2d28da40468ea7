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

from analytics.models import ORDER_STATUSES, Conversation, Customer, Order, OrderItem, Product

logger = logging.getLogger(__name__)

REFERENCE_DATE = datetime(2026, 11, 1, 12, 0, 0)
N_CUSTOMERS = 300
N_PRODUCTS = 200
N_ORDERS = 3000
FIRST_ORDER_NUMBER = 10000
FIRST_CUSTOMER_NUMBER = 1001

FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Oliver Sophia Elijah Isabella James Mia William Amelia "
    "Benjamin Harper Lucas Evelyn Henry Abigail Theodore Emily Jack Elizabeth Levi Sofia "
    "Alexander Avery Jackson Ella Mateo Scarlett Daniel Grace Michael Chloe Mason Victoria "
    "Sebastian Riley Ethan Aria Logan Lily Owen Aurora Samuel Zoey Jacob Nora Asher Hannah "
    "Aiden Layla John Priya Joseph Mei Wyatt Amara David Fatima Leo Ines Luke Yuki Julian "
    "Chiara Hudson Aisha Grayson Lucia Matteo Sara Ravi Hana Diego Elena Omar Freya Tomas"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Patel Kim Chen Schmidt Muller Rossi Dubois Novak Tanaka Silva Kowalski Jensen "
    "Okafor Haddad Larsen Moreau Bianchi Fischer Costa Ivanova Sato Murphy Kelly Byrne"
).split()
CITIES = (
    ("Seattle", "US"), ("Austin", "US"), ("Chicago", "US"), ("Boston", "US"),
    ("Denver", "US"), ("New York", "US"), ("San Diego", "US"), ("Atlanta", "US"),
    ("Portland", "US"), ("Miami", "US"), ("Toronto", "CA"), ("Vancouver", "CA"),
    ("London", "GB"), ("Manchester", "GB"), ("Dublin", "IE"), ("Berlin", "DE"),
    ("Munich", "DE"), ("Amsterdam", "NL"), ("Paris", "FR"), ("Lyon", "FR"),
    ("Madrid", "ES"), ("Milan", "IT"), ("Stockholm", "SE"), ("Sydney", "AU"),
    ("Melbourne", "AU"),
)  # fmt: skip
STREETS = (
    "Maple Street", "Oak Avenue", "Pine Road", "Cedar Lane", "Elm Street", "Lake View Drive",
    "Hillside Avenue", "River Road", "Park Lane", "Church Street", "Mill Road", "High Street",
    "Station Road", "Harbor Way", "Sunset Boulevard", "Willow Court",
)  # fmt: skip

# category -> (brands, [(product noun, lowest price, highest price, what it is)])
CATALOG: dict[str, tuple[tuple[str, ...], tuple[tuple[str, int, int, str], ...]]] = {
    "electronics": (
        ("Aurora", "Voltix", "Nimbus", "Pulse", "Kestrel"),
        (
            ("Wireless Earbuds", 29, 199, "Bluetooth earbuds with a pocket charging case."),
            ("Bluetooth Speaker", 25, 249, "A portable speaker with 12 hours of playback."),
            ("USB-C Charger", 15, 69, "A fast wall charger for phones and laptops."),
            ("Smart Watch", 79, 399, "Tracks steps, sleep and heart rate."),
            ("Noise-Cancelling Headphones", 99, 379, "Over-ear headphones that quiet a commute."),
            ("Power Bank", 19, 89, "Charges a phone three times over."),
            ("4K Webcam", 49, 199, "Sharp video calls in any light."),
            ("E-Reader", 89, 249, "A glare-free screen for weeks of reading."),
        ),
    ),
    "clothing": (
        ("Northwind", "Urban Loom", "Coastline", "Marlow", "Fieldhouse"),
        (
            ("Cotton T-Shirt", 12, 39, "Soft organic cotton, regular fit."),
            ("Denim Jacket", 49, 149, "A classic jacket in washed denim."),
            ("Wool Sweater", 39, 129, "Warm merino wool in a relaxed cut."),
            ("Rain Jacket", 59, 199, "Waterproof, breathable and packable."),
            ("Chino Trousers", 29, 89, "Stretch chinos for every day."),
            ("Hooded Sweatshirt", 25, 79, "A brushed fleece hoodie."),
            ("Linen Shirt", 29, 89, "Light linen for warm days."),
            ("Puffer Vest", 39, 119, "A light insulated vest."),
        ),
    ),
    "shoes": (
        ("Stride", "Trailmark", "Cobble & Co", "Aerofoot", "Peakline"),
        (
            ("Running Shoes", 59, 179, "Cushioned shoes for road running."),
            ("Leather Boots", 89, 249, "Water-resistant boots with a grippy sole."),
            ("Canvas Sneakers", 29, 79, "Everyday low-top sneakers."),
            ("Hiking Boots", 79, 229, "Supportive boots for rough trails."),
            ("Slip-On Loafers", 49, 149, "Easy leather loafers."),
            ("Sandals", 19, 89, "Comfortable summer sandals."),
        ),
    ),
    "home": (
        ("Hearth", "Nordhem", "Lumen", "Casa Verde", "Willowby"),
        (
            ("Table Lamp", 25, 129, "A dimmable lamp with a linen shade."),
            ("Throw Blanket", 19, 89, "A soft knitted blanket for the sofa."),
            ("Scented Candle", 9, 39, "Burns for 40 hours."),
            ("Wall Clock", 19, 79, "A silent sweep wall clock."),
            ("Storage Basket", 12, 49, "Woven baskets to tidy a shelf."),
            ("Bath Towel Set", 24, 89, "Thick cotton towels, set of four."),
            ("Area Rug", 59, 299, "A low-pile rug that is easy to clean."),
        ),
    ),
    "kitchen": (
        ("Copperleaf", "Chef's Table", "Brightpan", "Mesa", "Oakline"),
        (
            ("Chef's Knife", 29, 149, "A balanced knife of high-carbon steel."),
            ("Nonstick Frying Pan", 24, 99, "Even heat and easy cleaning."),
            ("French Press", 19, 59, "Brews four cups of rich coffee."),
            ("Blender", 39, 199, "Crushes ice and blends smoothies."),
            ("Cutting Board", 15, 59, "A sturdy board of end-grain wood."),
            ("Cast Iron Skillet", 29, 89, "Pre-seasoned and built to last."),
            ("Electric Kettle", 25, 89, "Boils a litre in three minutes."),
        ),
    ),
    "books": (
        ("Lantern Press", "Bluefield Books", "Harbor House", "Quill & Ink"),
        (
            ("Mystery Novel", 9, 24, "A page-turning whodunit."),
            ("Cookbook", 15, 39, "Weeknight recipes with simple ingredients."),
            ("Science Fiction Novel", 9, 24, "A far-future adventure."),
            ("Travel Guide", 12, 29, "Maps, tips and itineraries."),
            ("Biography", 12, 32, "The life of a remarkable inventor."),
            ("Children's Picture Book", 7, 19, "A bedtime story with bright pictures."),
        ),
    ),
    "sports": (
        ("Summit", "Velocity", "Ironclad", "Tidewater", "Apex"),
        (
            ("Yoga Mat", 19, 79, "A non-slip mat with extra cushioning."),
            ("Adjustable Dumbbells", 59, 299, "From 2 to 24 kg in one pair."),
            ("Water Bottle", 9, 39, "Keeps drinks cold for 24 hours."),
            ("Tennis Racket", 39, 199, "Light and easy to swing."),
            ("Cycling Helmet", 35, 149, "Ventilated and certified for road use."),
            ("Resistance Bands", 12, 39, "Five bands from light to heavy."),
            ("Camping Tent", 79, 349, "A two-person tent that pitches in minutes."),
        ),
    ),
    "beauty": (
        ("Glowe", "Petal & Pine", "Lunaria", "Pure Theory"),
        (
            ("Face Moisturizer", 12, 59, "Light daily cream with SPF 30."),
            ("Vitamin C Serum", 15, 69, "Brightens and evens skin tone."),
            ("Shampoo", 7, 29, "Gentle and sulfate-free."),
            ("Lip Balm Set", 6, 19, "Three tinted balms."),
            ("Hair Dryer", 29, 199, "Dries fast with less heat."),
            ("Perfume", 29, 129, "A fresh floral scent."),
        ),
    ),
    "toys": (
        ("Brickworks", "Little Owl", "Funfair", "Tinker Lab"),
        (
            ("Building Blocks Set", 19, 119, "500 pieces for endless builds."),
            ("Jigsaw Puzzle", 9, 29, "1000 pieces, a mountain landscape."),
            ("Remote Control Car", 29, 99, "Rechargeable and fast."),
            ("Plush Bear", 9, 39, "Soft and cuddly, machine washable."),
            ("Board Game", 19, 59, "Strategy for 2 to 5 players."),
            ("Science Kit", 24, 69, "Twenty experiments for curious kids."),
        ),
    ),
}
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")


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
