import pytest

from nlp.entities import SPACY_EXTRACTOR, EntityExtractor
from nlp.training_data import load_nlu_files


@pytest.fixture
def extractor(nlu_yaml) -> EntityExtractor:
    return EntityExtractor.from_training_data(load_nlu_files([nlu_yaml]))


def values(entities, name):
    return [e.value for e in entities if e.entity == name]


def test_order_id_is_found_case_insensitively_and_upper_cased(extractor):
    entities = extractor.extract("where is a10023?")
    assert [(e.entity, e.value, e.start, e.end) for e in entities] == [
        ("order_id", "A10023", 9, 15)
    ]


def test_email_is_extracted_lower_cased(extractor):
    assert values(extractor.extract("mail me at Jo.Doe@Example.COM please"), "email") == [
        "jo.doe@example.com"
    ]


@pytest.mark.parametrize(
    ("text", "amount"),
    [("I was charged $25", "25"), ("it cost 40 dollars", "40"), ("refund €19.99", "19.99")],
)
def test_money_amounts_become_numbers(extractor, text, amount):
    assert values(extractor.extract(text), "amount") == [amount]


def test_lookup_matches_whole_words_only(extractor):
    assert values(extractor.extract("any good books?"), "product_category") == ["books"]
    assert values(extractor.extract("I was overbooked"), "product_category") == []


def test_synonym_variants_map_to_the_canonical_value(extractor):
    entities = extractor.extract("looking for gadgets and Sneakers")
    assert values(entities, "product_category") == ["electronics", "shoes"]


def test_annotated_values_are_learned_as_synonyms(extractor):
    assert values(extractor.extract("can I return the blender"), "product_category") == ["kitchen"]


def test_spacy_person_and_place_pass_through(extractor, spacy_nlp):
    text = "This is Maria Garcia from Madrid"
    entities = extractor.extract(text, spacy_nlp(text))
    spacy_found = {(e.entity, e.value) for e in entities if e.extractor == SPACY_EXTRACTOR}
    assert ("GPE", "Madrid") in spacy_found


def test_regex_entity_wins_over_an_overlapping_spacy_entity(extractor, spacy_nlp):
    text = "I paid $25 for order A10023"
    entities = extractor.extract(text, spacy_nlp(text))
    assert [(e.entity, e.value) for e in entities] == [("amount", "25"), ("order_id", "A10023")]
    assert all(e.extractor == "RegexEntityExtractor" for e in entities)


def test_saved_config_loads_back_equal(extractor, tmp_path):
    extractor.save(tmp_path / "entities.json")
    loaded = EntityExtractor.load(tmp_path / "entities.json")
    text = "gadgets for order a10451, about $30"
    assert loaded.extract(text) == extractor.extract(text)
