"""Rasa's button payloads skip the NLU: ``/intent`` and ``/intent{"entity": "value"}``."""

from bot.dialogue.nlu_batcher import parse_payload


def test_a_payload_names_its_intent_with_full_confidence():
    parsed = parse_payload("/affirm")
    assert parsed.intent.name == "affirm" and parsed.intent.confidence == 1.0
    assert parsed.entities == []


def test_a_payload_carries_its_entities():
    parsed = parse_payload('/product_recommendation{"product_category": "books"}')
    assert [(e.entity, e.value) for e in parsed.entities] == [("product_category", "books")]


def test_a_retrieval_intent_payload_keeps_its_response_key():
    assert parse_payload("/faq/ask_price").intent.name == "faq/ask_price"


def test_text_that_only_looks_like_a_payload_goes_to_the_nlu():
    assert parse_payload("/help me please") is None
    assert parse_payload('/inform{"city": ') is None  # not JSON: ordinary text
    assert parse_payload("hello") is None
