"""A small real shop in a temporary SQLite file, and a way to run actions like the server does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import ActionExecutor
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from actions.settings import Shop, configure
from analytics.insights.recommender import Recommender
from analytics.store.schema import Base, Customer, Order, OrderItem, Product
from analytics.store.shop import ShopRepository

NOW = datetime(2026, 5, 15, 12, 0)

PRODUCTS = [
    ("E100", "Wireless Mouse", "electronics", "24.99", "Ergonomic wireless mouse, USB receiver"),
    ("E101", "Mechanical Keyboard", "electronics", "89.00", "Tenkeyless mechanical keyboard"),
    ("E102", "Laptop Stand", "electronics", "39.50", "Aluminium laptop stand for desks"),
    ("E103", "USB-C Cable", "electronics", "9.99", "Braided USB-C charging cable"),
    ("S200", "Trail Running Shoes", "shoes", "120.00", "Grippy trail running shoes"),
    ("S201", "Leather Boots", "shoes", "150.00", "Waterproof leather boots"),
    ("S202", "Canvas Sneakers", "shoes", "55.00", "Classic canvas sneakers"),
    ("K300", "Chef's Knife", "kitchen", "70.00", "Steel chef's knife for the kitchen"),
    ("B400", "Python Cookbook", "books", "45.00", "Recipes for Python programmers"),
]

CUSTOMERS = [
    ("C1001", "Ana Lima", "ana@example.com", True, "loyal"),
    ("C1002", "Ben Okafor", "ben@example.com", False, "new"),
    ("C1003", "Chloe Park", "chloe@example.com", False, "bargain"),
    ("C1004", "Dev Rao", "dev@example.com", False, None),
]

# order number, customer, status, refund status, days ago placed, skus, extra columns
ORDERS: list[tuple[str, str, str, str, int, list[str], dict[str, Any]]] = [
    ("A10001", "C1001", "pending", "none", 1, ["E100"], {}),
    ("A10002", "C1001", "processing", "none", 2, ["E101"], {}),
    (
        "A10003",
        "C1001",
        "shipped",
        "none",
        4,
        ["S200", "E103"],
        {"carrier": "UPS", "tracking_number": "1Z999AA10123456784", "shipped": 3},
    ),
    ("A10004", "C1001", "delivered", "none", 8, ["K300"], {"shipped": 7, "delivered": 5}),
    ("A10005", "C1001", "delivered", "none", 50, ["B400"], {"shipped": 48, "delivered": 45}),
    ("A10006", "C1001", "cancelled", "none", 20, ["S201"], {"cancelled": 19}),
    ("A10007", "C1001", "returned", "refunded", 40, ["S202"], {"shipped": 39, "delivered": 37}),
    ("A10010", "C1002", "shipped", "none", 3, ["E100", "E101"], {"carrier": "DHL", "shipped": 2}),
    ("A10011", "C1002", "delivered", "none", 30, ["E102"], {"shipped": 29, "delivered": 27}),
    ("A10012", "C1003", "delivered", "none", 12, ["E100", "E102"], {"shipped": 11, "delivered": 9}),
    (
        "A10013",
        "C1003",
        "delivered",
        "none",
        15,
        ["E101", "S200"],
        {"shipped": 14, "delivered": 13},
    ),
    (
        "A10014",
        "C1004",
        "delivered",
        "none",
        18,
        ["S200", "S202"],
        {"shipped": 17, "delivered": 16},
    ),
]


def _fill(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        products = {
            sku: Product(
                sku=sku, name=name, category=cat, price=Decimal(price), description=description
            )
            for sku, name, cat, price, description in PRODUCTS
        }
        customers = {
            ext: Customer(
                external_id=ext,
                name=name,
                email=email,
                vip=vip,
                segment=segment,
                created_at=NOW - timedelta(days=400),
            )
            for ext, name, email, vip, segment in CUSTOMERS
        }
        session.add_all([*products.values(), *customers.values()])
        for number, ext, status, refund, placed, skus, extra in ORDERS:

            def ago(key: str, extra: dict[str, Any] = extra) -> datetime | None:
                return NOW - timedelta(days=extra[key]) if key in extra else None

            items = [
                OrderItem(product=products[sku], quantity=1, unit_price=products[sku].price)
                for sku in skus
            ]
            session.add(
                Order(
                    order_number=number,
                    customer=customers[ext],
                    status=status,
                    refund_status=refund,
                    total=sum(item.unit_price for item in items),
                    shipping_address="1 Main St, Springfield",
                    carrier=extra.get("carrier"),
                    tracking_number=extra.get("tracking_number"),
                    created_at=NOW - timedelta(days=placed),
                    shipped_at=ago("shipped"),
                    delivered_at=ago("delivered"),
                    cancelled_at=ago("cancelled"),
                    items=items,
                )
            )
        session.commit()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    _fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def module_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The same shop, shared by a module whose tests only read it."""
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('shop') / 'shop.db'}")
    _fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_repository(postgres_url: str) -> Iterator[ShopRepository]:
    """The same shop in a fresh PostgreSQL database (postgres_url comes from tests/conftest.py)."""
    engine = create_engine(postgres_url)
    _fill(engine)
    yield ShopRepository(engine, clock=lambda: NOW)
    engine.dispose()


@pytest.fixture
def repository(engine: Engine) -> ShopRepository:
    return ShopRepository(engine, clock=lambda: NOW)


@pytest.fixture
def recommender(repository: ShopRepository) -> Recommender:
    return Recommender().fit(repository.purchases(), repository.products())


@pytest.fixture(scope="session")
def executor() -> ActionExecutor:
    # Under pytest, tests/ is on sys.path and tests/actions/ can shadow the `actions` package
    # as a namespace package, so register the module object rather than the name.
    # test_action_server covers registering by name, as `python -m rasa_sdk` does.
    import actions.actions

    executor = ActionExecutor()
    executor.register_package(actions.actions)
    return executor


DOMAIN = {
    "version": "3.1",
    "intents": ["order_status", "cancel_order", "return_item", "refund_status"],
    "entities": ["order_id", "email", "product_category"],
    "slots": {
        name: {"type": "text", "mappings": [{"type": "from_entity", "entity": name}]}
        for name in ("order_id", "email", "product_category", "customer_id")
    },
    "responses": {},
    "actions": [
        "action_order_status",
        "action_cancel_order",
        "action_return_item",
        "action_refund_status",
        "action_customer_profile",
        "action_recommend_products",
    ],
}


def action_call(action: str, text: str = "", intent: str = "", **slots: Any) -> dict[str, Any]:
    """The payload Rasa's server posts to an action server for `action`."""
    entities = [{"entity": k, "value": v} for k, v in slots.items() if k != "customer_id"]
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.97},
        "entities": entities,
    }
    all_slots = {
        "order_id": None,
        "email": None,
        "product_category": None,
        "customer_id": None,
        "last_recommendations": None,
        **slots,
    }
    return {
        "next_action": action,
        "sender_id": "visitor-42",
        "version": "3.10.0",
        "tracker": {
            "sender_id": "visitor-42",
            "slots": all_slots,
            "latest_message": latest,
            "events": [
                {"event": "action", "name": "action_listen", "timestamp": 1.0},
                {"event": "user", "text": text, "parse_data": latest, "timestamp": 2.0},
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": DOMAIN,
    }


@pytest.fixture
def now() -> datetime:
    """The moment the fixture shop's clock is frozen at."""
    return NOW


@pytest.fixture(scope="session")
def make_call() -> Callable[..., dict[str, Any]]:
    return action_call


RunAction = Callable[..., Any]


@pytest.fixture
def use_shop() -> Iterator[Callable[[Shop], None]]:
    """Configure the actions with a shop for this test; they go back to the environment after."""
    yield configure
    configure(None)


@pytest.fixture
def run_action(executor: ActionExecutor, repository: ShopRepository, use_shop) -> RunAction:
    """Run an action through rasa-sdk's executor against the temp shop; returns the result."""

    async def run(action: str, *, recommender: Recommender | None = None, **slots: Any):
        use_shop(Shop(repository, recommender))
        return await executor.run(action_call(action, **slots))

    return run
