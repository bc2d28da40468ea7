"""The recommendations' product search (issue 11): requests by product words, paraphrases and
misspellings find those products, requests for what the shop does not sell are told so.

hit@3 and the no-match precision on tests/actions/data/product_requests.csv, measured on the
seeded demo shop with the exported encoder (benchmarks/product_search.py prints them), may
not drop below what was reached (hit@3 0.959, no-match precision 0.875, 7 of 10 requests
for unsold things answered "we don't sell that") minus a small margin.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from actions.product_search import ProductSearch, asks_for_a_product
from actions.settings import Settings, Shop, product_encoder
from nlp.encoder import SentenceEncoder

REPO = Path(__file__).resolve().parents[2]
HIT_AT_3 = 0.959
NO_MATCH_PRECISION = 0.875
NOT_SOLD_ANSWERED = 0.7
MARGIN = 0.04


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "product_search_benchmark", REPO / "benchmarks" / "product_search.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def settings() -> Settings:
    settings = Settings.from_env()
    if settings.base_models_dir is None:
        pytest.skip("no exported sentence encoder (nlu.int8.onnx); run `make models`")
    return settings


@pytest.fixture(scope="module")
def embed(settings):
    return product_encoder(settings)


def test_hit_at_3_and_no_match_precision_on_the_request_set(settings, tmp_path_factory):
    bench = _benchmark()
    requests = bench.read_requests()
    assert len(requests) >= 60 and sum(not r.expected for r in requests) >= 8
    shop = bench.demo_shop(tmp_path_factory.mktemp("demo"))
    try:
        outcomes = bench.evaluate(shop, requests)
    finally:
        shop.repository.engine.dispose()
    figures = bench.figures(outcomes)
    misses = [(o.request.text, o.shown, o.not_sold) for o in outcomes if not o.hit]
    assert figures.hit_at_3 >= HIT_AT_3 - MARGIN, misses
    assert figures.no_match_precision >= NO_MATCH_PRECISION - 0.1, misses
    assert figures.not_sold_right >= NOT_SOLD_ANSWERED - 0.1, misses


def test_the_search_uses_the_encoder_the_server_loaded(settings):
    """In Carebot's server the NLU loads SentenceEncoder.shared(base models dir); the shop's
    search gets that instance's encode, not a second copy."""
    served = SentenceEncoder.shared(settings.base_models_dir)
    shop = Shop.open(settings)
    try:
        assert shop.search.embed.__self__ is served
        assert served.backend.startswith("onnxruntime")
    finally:
        shop.repository.engine.dispose()


def test_searching_in_a_fresh_process_imports_no_torch(settings):
    code = (
        "import json, sys\n"
        "from actions.settings import Settings, product_encoder\n"
        "from actions.product_search import ProductSearch\n"
        "from analytics.store.shop import ProductInfo\n"
        "products = [ProductInfo('A', 'Pulse Wireless Earbuds', 'electronics', 9.0,"
        " 'Bluetooth earbuds.'), ProductInfo('B', 'Stride Running Shoes', 'shoes', 9.0,"
        " 'Cushioned shoes for road running.')]\n"
        "search = ProductSearch(product_encoder(Settings.from_env()))\n"
        "found = search.search('trainers for jogging', products)\n"
        "print(json.dumps({'first': found[0].index,"
        " 'torch': [m for m in ('torch', 'transformers') if m in sys.modules]}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out == {"first": 1, "torch": []}


def test_a_request_without_product_words_is_no_search():
    assert not asks_for_a_product("can you recommend something?")
    assert not asks_for_a_product("any gift ideas?")
    assert not asks_for_a_product('/product_recommendation{"product_category": "books"}')
    assert asks_for_a_product("trainers for jogging")


async def _recommend(executor, use_shop, make_call, shop, text, **slots):
    use_shop(shop)
    result = await executor.run(make_call("action_recommend_products", text=text, **slots))
    (message,) = result.responses
    return message, result.events


@pytest.mark.parametrize("text, sku", [
    ("trainers for jogging", "S200"),
    ("do you have a clicky keyboard?", "E101"),
    ("a cable to charge my phone", "E103"),
    ("mechanicle keybord", "E101"),
])
async def test_the_action_shows_what_the_request_means(executor, use_shop, make_call, repository,
                                                       recommender, embed, text, sku):
    shop = Shop(repository, recommender, ProductSearch(embed))
    message, events = await _recommend(executor, use_shop, make_call, shop, text)

    products = message["custom"]["products"]
    assert products[0]["sku"] == sku, products
    assert message["text"].startswith("Here's what we have for that:")


async def test_something_the_shop_does_not_sell_is_said_so(executor, use_shop, make_call,
                                                           repository, recommender, embed):
    shop = Shop(repository, recommender, ProductSearch(embed))
    message, events = await _recommend(executor, use_shop, make_call, shop,
                                       "do you sell lawn mowers?")

    assert message["text"].startswith("Sorry, we don't sell that.")
    assert "books, electronics, kitchen, shoes" in message["text"]
    assert "custom" not in message or not message["custom"]
    assert events[0]["value"] == []


async def test_a_product_named_as_a_category_is_searched_not_refused(
        executor, use_shop, make_call, repository, recommender, embed):
    # the NLU tags "keyboard" as product_category; the shop has no such section
    shop = Shop(repository, recommender, ProductSearch(embed))
    message, events = await _recommend(executor, use_shop, make_call, shop,
                                       "recommend a keyboard", product_category="keyboard")

    assert message["custom"]["products"][0]["sku"] == "E101"
    assert {"event": "slot", "timestamp": None, "name": "product_category",
            "value": None} in events


async def test_without_the_encoder_product_words_still_match(executor, use_shop, make_call,
                                                             repository, recommender):
    shop = Shop(repository, recommender)  # word match only
    message, _ = await _recommend(executor, use_shop, make_call, shop, "any good boots?")
    assert message["custom"]["products"][0]["sku"] == "S201"
    message, _ = await _recommend(executor, use_shop, make_call, shop, "hedphones please")
    assert message["text"].startswith("Sorry, we don't sell that.")


async def test_a_generic_request_gets_the_recommenders_picks(executor, use_shop, make_call,
                                                             repository, recommender, embed):
    shop = Shop(repository, recommender, ProductSearch(embed))
    message, _ = await _recommend(executor, use_shop, make_call, shop,
                                  "can you recommend something?", customer_id="C1001")
    assert [p["sku"] for p in message["custom"]["products"]] == ["E102", "S201"]


def _said(messages) -> tuple[str, list[dict]]:
    text = " ".join(m.get("text") or "" for m in messages)
    products = [p for m in messages for p in (m.get("custom") or {}).get("products", [])]
    return text, products


@pytest.mark.parametrize("request_text, product_word", [
    ("can you recommend some earbuds?", "earbuds"),
    ("recommend trainers for jogging", "running shoes"),
])
def test_a_served_conversation_finds_the_paraphrased_product(server, request_text,
                                                             product_word):
    text, products = _said(server.say(f"search-{uuid.uuid4().hex[:12]}", request_text))
    assert products and product_word in products[0]["name"].lower(), text


def test_a_served_conversation_says_what_the_shop_does_not_sell(server):
    text, products = _said(server.say(f"search-{uuid.uuid4().hex[:12]}", "can you recommend a lawn mower?"))
    assert "we don't sell that" in text and not products, text


def test_embedding_the_catalogue_keeps_the_encoders_one_session(settings, tmp_path_factory):
    """Batches above the encoder's SMALL_BATCH would open a second ONNX Runtime session."""
    from analytics.store.shop import ProductInfo
    from nlp.encoder import SMALL_BATCH

    sizes = []
    encode = product_encoder(settings)
    search = ProductSearch(lambda texts: sizes.append(len(texts)) or encode(texts))
    products = [ProductInfo(f"P{i}", f"Brand{i} Desk Lamp", "home", 9.0, f"Lamp number {i}.")
                for i in range(150)]
    assert search.search("a lamp", products)
    assert max(sizes) <= SMALL_BATCH and sum(sizes) == 151


def test_opening_the_shop_embeds_the_catalogue_before_the_first_search(settings,
                                                                      tmp_path_factory):
    """The first product search of a process used to embed the whole catalogue (~1 s for the
    demo's 200 products) while every search arriving meanwhile waited: the stall at the start
    of a load run. Opening the shop now prepares it beside the turn that opened it."""
    import time

    folder = tmp_path_factory.mktemp("warm")
    _benchmark().demo_shop(folder, words_only=True).repository.engine.dispose()  # seeds shop.db
    shop = Shop.open(Settings(database_url=f"sqlite:///{folder / 'shop.db'}",
                              models_dir=folder, encoder_dirs=settings.encoder_dirs))
    try:
        deadline = time.monotonic() + 60
        while not shop.search._catalogues and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shop.search._catalogues, "the catalogue was not prepared"
        sizes = []
        encode = shop.search.embed
        shop.search.embed = lambda texts: sizes.append(len(texts)) or encode(texts)
        matches = shop.search.search("can you recommend some headphones?",
                                     shop.repository.products())
        assert matches and sizes == [1], sizes  # only the request itself was embedded
    finally:
        shop.repository.engine.dispose()


def test_searches_of_several_catalogues_in_turn_match_a_fresh_search_of_each():
    """The search keeps a few catalogues (the whole one, a category's, the same products
    read again as new objects) and which products have each word: searching them in turn
    must find what a search that has seen none of them finds."""
    from analytics.store.shop import ProductInfo

    def catalogue():
        return [ProductInfo("H1", "Studio Headphones", "electronics", 99.0, "Closed back."),
                ProductInfo("H2", "Running Shoes", "shoes", 59.0, "Light trainers."),
                ProductInfo("H3", "Chef Knife", "kitchen", 35.0, "A sharp blade."),
                ProductInfo("H4", "Wireless Headphones", "electronics", 129.0, "Noise cancelling.")]

    whole = catalogue()
    electronics = [p for p in whole if p.category == "electronics"]
    requests = ["any good hedphones?", "running shoes please", "a chef knife", "headphones"]
    kept = ProductSearch(None)
    for products in (whole, electronics, catalogue(), electronics, whole):
        for text in requests:
            got = kept.search(text, products)
            fresh = ProductSearch(None).search(text, products)
            assert got == fresh, (text, [p.sku for p in products])
    assert [m.index for m in kept.search("hedphones", whole)] == [0, 3]
    assert kept.search("a chef knife", electronics) == []
