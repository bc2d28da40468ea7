"""The repository's queries on PostgreSQL, where production shops keep their orders."""

from __future__ import annotations

from decimal import Decimal

from analytics.insights.recommender import Recommender
from analytics.store.shop import Requester

ANA = Requester(customer_id="C1001")


def test_orders_are_found_case_insensitively_for_their_owner_only(postgres_repository):
    assert postgres_repository.owned_order("a10003", Requester(email="ANA@example.com"))
    assert postgres_repository.owned_order("A10010", ANA) is None


def test_cancelling_is_atomic_and_only_for_unshipped_orders(postgres_repository):
    assert postgres_repository.cancel_order("A10001", ANA).result == "cancelled"
    assert postgres_repository.cancel_order("A10001", ANA).result == "already_cancelled"
    assert postgres_repository.cancel_order("A10003", ANA).result == "too_late"


def test_profile_and_best_sellers_aggregate_correctly(postgres_repository):
    profile = postgres_repository.customer_profile("C1001")

    assert (profile.order_count, profile.lifetime_value) == (7, Decimal("358.98"))
    best = postgres_repository.popular_products("shoes", exclude_customer="C1004")
    assert [p.sku for p in best] == ["S201"]


def test_a_recommender_fits_on_what_postgres_returns(postgres_repository):
    model = Recommender().fit(postgres_repository.purchases(), postgres_repository.products())

    assert model.recommend("C1001", k=1)[0].sku == "E102"
