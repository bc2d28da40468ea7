"""The shop keeps its catalogue between product searches and reads it again when it changes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analytics.store import shop as shop_module
from analytics.store.schema import Product


def test_the_catalogue_is_kept_and_every_kind_of_change_is_seen(engine, repository):
    first = repository.products()
    assert first and first == repository.products()
    assert repository._catalogue is not None  # kept, not read row by row each time

    with Session(engine) as session, session.begin():  # a product added
        session.add(Product(sku="Z900", name="Trail socks", category="shoes",
                            price=Decimal("9.00"), description="Wool socks for hiking."))
    assert "Z900" in {p.sku for p in repository.products()}

    with engine.begin() as conn:  # a price changed
        conn.execute(update(Product).where(Product.sku == "Z900").values(price=Decimal("7.50")))
    assert {p.sku: p.price for p in repository.products()}["Z900"] == 7.50

    with engine.begin() as conn:  # a description rewritten
        conn.execute(update(Product).where(Product.sku == "Z900")
                     .values(description="Merino socks for long hikes."))
    assert {p.sku: p.description for p in repository.products()}["Z900"] \
        == "Merino socks for long hikes."

    with Session(engine) as session, session.begin():  # a product removed
        session.delete(session.scalars(select(Product).where(Product.sku == "Z900")).one())
    assert "Z900" not in {p.sku for p in repository.products()}


def test_an_edit_the_fingerprint_cannot_see_shows_once_the_catalogue_is_old(
        engine, repository, monkeypatch):
    name = repository.products()[0].name
    same_length = name[::-1]  # same letters, same length: the fingerprint stays the same
    with engine.begin() as conn:
        conn.execute(update(Product).where(Product.name == name).values(name=same_length))
    assert repository.products()[0].name == name  # still the kept catalogue

    monkeypatch.setattr(shop_module, "CATALOGUE_MAX_AGE", 0.0)
    assert repository.products()[0].name == same_length


def test_callers_cannot_change_the_kept_catalogue(repository):
    mine = repository.products()
    mine.clear()
    assert repository.products()
