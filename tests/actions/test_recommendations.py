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


def test_excluded_skus_are_left_out_and_the_rest_keep_their_order(recommender):
    everything = [p.sku for p in recommender.recommend("C9999", k=100)]
    picks = recommender.recommend("C9999", k=100, exclude={"E101", "NO-SUCH-SKU"})

    assert [p.sku for p in picks] == [sku for sku in everything if sku != "E101"]
    assert recommender.recommend("C9999", k=2, exclude={"E100"})[0].sku == "E101"


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


def _scipy_recommendations(model: Recommender, customer: str | None, category=None, k=3):
    """What the recommender answered when it kept SciPy matrices (format 2): the customer's
    row times the similarity matrices, scored as recommend() does."""
    import numpy as np
    from scipy import sparse

    from analytics.insights.recommender import _scaled

    def matrix(rows):
        return sparse.csr_matrix((rows.data, rows.indices, rows.indptr), shape=rows.shape)

    n = len(model.skus_)
    cf, content = np.zeros(n), np.zeros(n)
    row = model.customer_index_.get(customer or "")
    allowed = np.ones(n, dtype=bool)
    if row is not None:
        history = matrix(model.customer_items_)[row]
        cf = model.cf_weight * _scaled((history @ matrix(model.item_similarity_)).toarray().ravel())
        content = model.content_weight * _scaled(
            (history @ matrix(model.content_similarity_)).toarray().ravel())
        allowed[history.indices] = False
    score = cf + content + model.popularity_weight * model.popularity_
    if category is not None:
        allowed &= model.categories_ == model.resolve_category(category)
    candidates = np.flatnonzero(allowed)
    ranked = candidates[np.argsort(-score[candidates], kind="stable")][:k]
    return [str(model.skus_[i]) for i in ranked], score[ranked]


def test_the_recommender_answers_as_scipy_did_and_reads_format_2_files(engine, tmp_path: Path):
    """Fitted matrices are kept as numpy compressed rows (a server needs no SciPy): the same
    products and scores as SciPy's sparse products, for every customer of the seeded shop and
    an anonymous visitor; a format 2 file (SciPy matrices) still loads and answers the same."""
    from scipy import sparse

    train_recommender(engine, tmp_path / "models", progress=False)
    model = load_recommender(tmp_path / "models")
    for customer in [*model.customer_index_, None]:
        for category in (None, *model.categories):
            want, scores = _scipy_recommendations(model, customer, category)
            got = model.recommend(customer, category)
            assert [p.sku for p in got] == want, (customer, category)
            assert [p.score for p in got] == pytest.approx(list(scores), abs=1e-6)

    saved = joblib.load(tmp_path / "models" / "recommender.joblib")
    for name in ("customer_items_", "item_similarity_", "content_similarity_"):
        rows = saved["learned"][name]
        saved["learned"][name] = sparse.csr_matrix((rows.data, rows.indices, rows.indptr),
                                                   shape=rows.shape)  # fmt: skip
    saved["format"] = 2
    old = tmp_path / "old"
    old.mkdir()
    joblib.dump(saved, old / "recommender.joblib")
    again = load_recommender(old)
    assert [p.sku for p in again.recommend("C1001")] == [p.sku for p in model.recommend("C1001")]


def test_a_saved_recommender_serves_without_scipy_or_scikit_learn(engine, tmp_path: Path):
    import json
    import os
    import subprocess

    train_recommender(engine, tmp_path / "models", progress=False)
    repo = Path(__file__).resolve().parents[2]
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from analytics.insights.recommender import load_recommender\n"
        f"model = load_recommender(Path({str(tmp_path / 'models')!r}))\n"
        "skus = [p.sku for p in model.recommend('C1001')]\n"
        "print(json.dumps({'skus': skus, 'loaded': [m for m in ('scipy', 'sklearn', 'pandas')"
        " if m in sys.modules], 'repr': repr(model)}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["skus"] == ["E102", "S201"]
    assert out["loaded"] == []
    assert out["repr"] == "Recommender()"
    with pytest.raises(ValueError, match="n_neighbors"):
        Recommender().set_params(neighbours=3)
    assert Recommender(n_neighbors=5).set_params(cf_weight=2.0).get_params()["cf_weight"] == 2.0
