from __future__ import annotations

import sys
import types
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import joblib
import pandas as pd
import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.insights.recommender import (
    Recommender,
    RecommenderUnusable,
    load_recommender,
    train_recommender,
)
from analytics.store.schema import Customer, Order, OrderItem, Product

ANA_BOUGHT = {"E100", "E101", "E103", "S200", "K300", "B400", "S202"}


async def test_a_known_customer_is_recommended_products_they_have_not_bought(
    run_action, recommender
):
    result = await run_action(
        "action_recommend_products", customer_id="C1001", recommender=recommender
    )

    (message,) = result.responses
    products = message["custom"]["products"]
    assert message["custom"]["type"] == "products"
    assert not {p["sku"] for p in products} & ANA_BOUGHT
    assert [p["sku"] for p in products] == ["E102", "S201"]  # all that is left for Ana
    assert products[0] == {
        "sku": "E102",
        "name": "Laptop Stand",
        "price": 39.5,
        "category": "electronics",
        "url": "/products/E102",
        "image": None,
    }
    assert message["text"].startswith("Based on your past orders, you might like:\n• Laptop Stand")
    assert result.events == [SlotSet("last_recommendations", [p["sku"] for p in products])]


async def test_an_anonymous_visitor_asking_for_a_category_gets_only_that_category(
    run_action, recommender
):
    result = await run_action(
        "action_recommend_products", product_category="Shoe", recommender=recommender
    )

    (message,) = result.responses
    assert [p["sku"] for p in message["custom"]["products"]] == ["S200", "S202", "S201"]
    assert message["text"].startswith("Popular in shoes right now:")
    assert SlotSet("product_category", "shoes") in result.events


async def test_an_unknown_category_is_answered_with_the_categories_we_have(run_action, recommender):
    result = await run_action(
        "action_recommend_products", product_category="garden", recommender=recommender
    )

    (message,) = result.responses
    assert "books, electronics, kitchen, shoes" in message["text"]
    assert result.events == [SlotSet("product_category", None)]


async def test_without_a_trained_model_best_sellers_come_from_the_database(run_action):
    result = await run_action("action_recommend_products", customer_id="C1001")

    products = result.responses[0]["custom"]["products"]
    assert [p["sku"] for p in products] == ["E102", "S201"]  # all Ana has not bought


async def test_orders_placed_after_training_are_not_recommended_again(
    run_action, recommender, engine, now
):
    with Session(engine) as session:
        ana = session.scalars(select(Customer).where(Customer.external_id == "C1001")).one()
        stand = session.scalars(select(Product).where(Product.sku == "E102")).one()
        item = OrderItem(product=stand, quantity=1, unit_price=stand.price)
        session.add(
            Order(
                order_number="A10099",
                customer=ana,
                status="pending",
                total=Decimal("39.50"),
                created_at=now - timedelta(hours=1),
                items=[item],
            )
        )
        session.commit()

    result = await run_action(
        "action_recommend_products", customer_id="C1001", recommender=recommender
    )

    assert "E102" not in {p["sku"] for p in result.responses[0]["custom"]["products"]}


def test_items_bought_together_with_the_customers_purchases_rank_first(recommender):
    first = recommender.recommend("C1001", k=1)[0]

    assert (first.sku, first.reason) == ("E102", "bought_together")


def test_a_customer_the_model_has_never_seen_gets_best_sellers(recommender):
    picks = recommender.recommend("C9999", k=3)

    assert [p.sku for p in picks] == ["E100", "E101", "S200"]
    assert {p.reason for p in picks} == {"popular"}


def test_text_similarity_fills_in_where_no_one_bought_together(recommender):
    # Dev bought only shoes; nobody who bought shoes bought the boots, but their text matches.
    picks = recommender.recommend("C1004", category="shoes", k=1)

    assert (picks[0].sku, picks[0].reason) == ("S201", "similar_items")


def test_recommend_rejects_an_unknown_category_naming_the_known_ones(recommender):
    with pytest.raises(ValueError, match="use one of books, electronics, kitchen, shoes"):
        recommender.recommend(None, category="garden")


def test_fit_accepts_plain_tuples_and_dataframes_alike():
    products = [("P1", "Red mug", "kitchen", 8.0, "mug"), ("P2", "Blue mug", "kitchen", 9.0, "")]
    bought = [("C1", "P1", 2), ("C2", "P1", 1), ("C2", "P2", 1)]
    frame = pd.DataFrame(bought, columns=["customer_external_id", "product_sku", "quantity"])

    from_tuples = Recommender().fit(bought, products).recommend("C1")
    from_frame = Recommender().fit(frame, pd.DataFrame(products)).recommend("C1")

    assert [p.sku for p in from_tuples] == [p.sku for p in from_frame] == ["P2"]


def test_a_trained_recommender_is_saved_and_loaded_back(engine, tmp_path: Path):
    path = train_recommender(engine, tmp_path / "models", progress=False)
    loaded = load_recommender(tmp_path / "models")

    assert path == tmp_path / "models" / "recommender.joblib"
    assert [p.sku for p in loaded.recommend("C1001")] == ["E102", "S201"]


def test_loading_before_any_training_gives_no_recommender(tmp_path: Path):
    assert load_recommender(tmp_path) is None


def _moved_class_file(path: Path) -> None:
    """A saved object whose class lived in a module that no longer exists."""
    module = types.ModuleType("carebot_module_that_moved")
    exec("class Recommender:\n    pass", module.__dict__)
    sys.modules[module.__name__] = module
    try:
        joblib.dump({"format": 1, "model": module.Recommender()}, path)
    finally:
        del sys.modules[module.__name__]


@pytest.mark.parametrize("old_file", ["class that moved", "older format"])
def test_a_recommender_file_from_another_version_is_refused_with_what_to_do(
    tmp_path: Path, old_file
):
    path = tmp_path / "recommender.joblib"
    if old_file == "class that moved":
        _moved_class_file(path)
    else:
        joblib.dump({"format": 1, "model": None}, path)

    with pytest.raises(RecommenderUnusable, match="retrain it .*carebot train"):
        load_recommender(tmp_path)
