"""Regexes and lookup tables as Rasa's RegexEntityExtractor reads them, and synonyms as
EntitySynonymMapper maps them."""

import pytest

from nlp.entities import REGEX_EXTRACTOR, EntityExtractor
from nlp.training_data import load_nlu_files


@pytest.fixture
def extractor(nlu_yaml) -> EntityExtractor:
    return EntityExtractor.from_training_data(load_nlu_files([nlu_yaml]))


def values(entities, name):
    return [e.value for e in entities if e.entity == name]


def test_order_id_regex_is_found_case_insensitively(extractor):
    entities = extractor.extract("where is a10023?")
    assert [(e.entity, e.value, e.start, e.end, e.extractor) for e in entities] == [
        ("order_id", "a10023", 9, 15, REGEX_EXTRACTOR)
    ]


def test_case_sensitive_option_keeps_the_pattern_exact(nlu_yaml):
    data = load_nlu_files([nlu_yaml])
    data.regexes["order_id"] = [r"\bA\d{5}\b"]
    strict = EntityExtractor.from_training_data(data, case_sensitive=True)
    assert values(strict.extract("a10023 or A10451"), "order_id") == ["A10451"]


def test_lookup_matches_whole_words_only(extractor):
    assert values(extractor.extract("any good books?"), "product_category") == ["books"]
    assert values(extractor.extract("I was overbooked"), "product_category") == []


def test_synonym_variants_map_to_the_canonical_value(extractor):
    entities = extractor.map_synonyms(extractor.extract("looking for gadgets and Sneakers"))
    assert values(entities, "product_category") == ["electronics", "shoes"]


def test_annotated_values_are_learned_as_synonyms(extractor):
    entities = extractor.map_synonyms(extractor.extract("can I return the blender"))
    assert values(entities, "product_category") == ["kitchen"]


def test_a_pattern_named_after_no_annotated_entity_only_feeds_the_tagger(nlu_yaml):
    data = load_nlu_files([nlu_yaml])
    data.regexes["zipcode"] = [r"\b\d{5}\b"]
    extractor = EntityExtractor.from_training_data(data)
    assert values(extractor.extract("my zip is 10115"), "zipcode") == []
    assert "zipcode" in {name for name, _ in extractor.patterns}


def test_saved_config_loads_back_equal(extractor, tmp_path):
    extractor.save(tmp_path / "entities.json")
    loaded = EntityExtractor.load(tmp_path / "entities.json")
    text = "gadgets for order a10451, about $30"
    assert loaded.extract(text) == extractor.extract(text)
