"""A small Rasa project's NLU trained with a config.yml pipeline and parsed as Rasa would:
retrieval intents, entity roles and groups, synonyms, Duckling, spaCy.

Reuses the base models of CAREBOT_MODELS_DIR (default /work/main/models) read-only.
"""

import socket
import textwrap

import pytest

from nlp.pipeline import NLU
from nlp.train import base_models_ready, train_project

DATA = textwrap.dedent(
    """\
    version: "3.1"
    nlu:
    - intent: book_flight
      examples: |
        - fly from [Berlin]{"entity": "city", "role": "departure"} to [London]{"entity": "city", "role": "destination"}
        - a flight from [Paris]{"entity": "city", "role": "departure"} to [Rome]{"entity": "city", "role": "destination"}
        - I want to go from [Madrid]{"entity": "city", "role": "departure"} to [Oslo]{"entity": "city", "role": "destination"}
        - book me a ticket from [Vienna]{"entity": "city", "role": "departure"} to [Prague]{"entity": "city", "role": "destination"}
        - from [Lisbon]{"entity": "city", "role": "departure"} to [Dublin]{"entity": "city", "role": "destination"} please
        - get me from [Athens]{"entity": "city", "role": "departure"} to [Warsaw]{"entity": "city", "role": "destination"}
        - I need a flight to [NYC](city:New York) from [Boston]{"entity": "city", "role": "departure"}
        - flights from [Zurich]{"entity": "city", "role": "departure"} to [Milan]{"entity": "city", "role": "destination"}
    - intent: order_pizza
      examples: |
        - a [large]{"entity": "size", "group": "1"} [pepperoni]{"entity": "topping", "group": "1"} and a [small]{"entity": "size", "group": "2"} [margherita]{"entity": "topping", "group": "2"}
        - one [small]{"entity": "size", "group": "1"} [hawaii]{"entity": "topping", "group": "1"} and one [large]{"entity": "size", "group": "2"} [funghi]{"entity": "topping", "group": "2"}
        - I'd like a [medium]{"entity": "size", "group": "1"} [salami]{"entity": "topping", "group": "1"}
        - two pizzas, a [large]{"entity": "size", "group": "1"} [veggie]{"entity": "topping", "group": "1"} and a [medium]{"entity": "size", "group": "2"} [pepperoni]{"entity": "topping", "group": "2"}
        - order a [small]{"entity": "size", "group": "1"} [funghi]{"entity": "topping", "group": "1"}
        - can I get a [large]{"entity": "size", "group": "1"} [margherita]{"entity": "topping", "group": "1"}
    - intent: pay
      examples: |
        - I want to pay $500 tomorrow
        - pay 20 dollars on Sunday
        - send the money next week
        - I'd like to make a payment
        - pay my bill
        - transfer the payment now
    - intent: greet
      examples: |
        - hi
        - hello
        - good morning
        - hey there
        - hello bot
        - hiya
    - intent: faq/ask_price
      examples: |
        - how much does it cost
        - what is the price
        - how expensive is it
        - what do you charge
        - is it cheap
    - intent: faq/ask_hours
      examples: |
        - when are you open
        - what are your opening hours
        - are you open on sundays
        - what time do you close
        - until when are you open
    """
)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


PIPELINE = [
    {"name": "WhitespaceTokenizer", "__source__": "config.yml:3"},
    {"name": "CountVectorsFeaturizer", "__source__": "config.yml:4"},
    {"name": "DIETClassifier", "epochs": 100, "__source__": "config.yml:5"},
    {"name": "EntitySynonymMapper", "__source__": "config.yml:7"},
    {"name": "ResponseSelector", "retrieval_intent": "faq", "__source__": "config.yml:8"},
    {"name": "FallbackClassifier", "threshold": 0.3, "__source__": "config.yml:10"},
    {
        "name": "DucklingEntityExtractor",
        "url": _dead_url(),
        "dimensions": ["amount-of-money", "time"],
    },
    {"name": "SpacyNLP", "model": "en_core_web_md"},
    {"name": "SpacyEntityExtractor", "dimensions": ["PERSON"]},
]


@pytest.fixture(scope="module")
def nlu(models_dir, tmp_path_factory):
    if not base_models_ready(models_dir):
        pytest.skip(f"no base models in {models_dir}; run `carebot train`")
    tmp = tmp_path_factory.mktemp("project")
    (tmp / "data" / "nlu").mkdir(parents=True)
    # Rasa projects split their data over several files at any depth.
    blocks = DATA.split("- intent: greet")
    (tmp / "data" / "nlu" / "a.yml").write_text(blocks[0], encoding="utf-8")
    (tmp / "data" / "b.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet' + blocks[1], encoding="utf-8"
    )
    files = sorted((tmp / "data").rglob("*.yml"))
    report = train_project(files, PIPELINE, tmp / "models", models_dir, progress=False)
    assert report.retrieval_intents == ["faq"] and "city" in report.entities
    assert not (tmp / "models" / "sentiment").exists()  # base models stay in the base dir
    return NLU.load(tmp / "models", base_dir=models_dir)


def entities(nlu, text, extractor=None):
    return [
        (e.entity, e.value, e.role, e.group)
        for e in nlu.parse(text).entities
        if extractor is None or e.extractor == extractor
    ]


def test_a_retrieval_intent_is_classified_as_its_base_intent(nlu):
    assert nlu.parse("how much is it, what's the price?").intent.name == "faq"


def test_the_response_selector_answers_in_rasas_shape(nlu):
    selector = nlu.parse("how much is it, what's the price?").to_dict()["response_selector"]
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/ask_price"
    assert response["utter_action"] == "utter_faq/ask_price"
    assert selector["faq"]["ranking"][0]["intent_response_key"] == "faq/ask_price"
    assert 0.5 < response["confidence"] <= 1.0


def test_the_other_response_of_the_retrieval_intent_is_told_apart(nlu):
    selector = nlu.parse("when do you open tomorrow?").response_selector
    assert selector["faq"]["response"]["intent_response_key"] == "faq/ask_hours"


def test_entity_roles_are_learned_and_kept(nlu):
    found = entities(nlu, "fly from Hamburg to Stockholm", "DIETClassifier")
    assert found == [
        ("city", "Hamburg", "departure", None),
        ("city", "Stockholm", "destination", None),
    ]


def test_entity_groups_are_learned_and_kept(nlu):
    found = entities(nlu, "a large salami and a small veggie", "DIETClassifier")
    assert found == [
        ("size", "large", None, "1"),
        ("topping", "salami", None, "1"),
        ("size", "small", None, "2"),
        ("topping", "veggie", None, "2"),
    ]


def test_roles_and_groups_reach_the_parse_json_only_when_set(nlu):
    payload = nlu.parse("fly from Hamburg to Stockholm").to_dict()["entities"]
    assert payload[0]["role"] == "departure" and "group" not in payload[0]


def test_learned_entities_go_through_the_synonym_mapper(nlu):
    assert ("city", "New York", None, None) in entities(nlu, "a flight to NYC from Paris")


def test_duckling_dimensions_come_from_the_built_in_extractors_when_the_url_is_dead(nlu):
    found = {e.entity: e for e in nlu.parse("I want to pay $500 tomorrow").entities}
    assert found["amount-of-money"].value == 500
    assert found["time"].additional_info["grain"] == "day"
    assert found["time"].extractor == "DucklingEntityExtractor"


def test_spacy_entity_extractor_finds_a_person(nlu):
    assert ("PERSON", "Maria Garcia", None, None) in entities(
        nlu, "please send 50 dollars to Maria Garcia", "SpacyEntityExtractor"
    )


def test_spacy_entities_outside_the_dimensions_are_left_out(nlu):
    assert all(
        e[0] == "PERSON" for e in entities(nlu, "fly from Berlin to London", "SpacyEntityExtractor")
    )


def test_an_off_topic_message_falls_back_with_the_ranking_kept(nlu):
    result = nlu.parse("qwzx vbnm")
    assert (result.intent.name, result.intent.confidence) == ("nlu_fallback", 0.3)
    assert result.intent_ranking[0] == result.intent
    assert {i.name for i in result.intent_ranking[1:]} == {
        "book_flight",
        "order_pizza",
        "pay",
        "greet",
        "faq",
    }


def test_sentiment_and_pii_are_still_part_of_every_parse(nlu):
    result = nlu.parse("my email is jo@example.com, thanks a lot!")
    assert result.redacted_text == "my email is [EMAIL], thanks a lot!"
    assert result.sentiment.label in ("neutral", "positive")
