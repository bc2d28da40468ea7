from pathlib import Path

import pytest

from nlp.training_data import EntitySpan, load_nlu_files, parse_example
from nlp.yamlfile import BotFileError


def test_round_bracket_annotation_is_stripped_and_remembered():
    example = parse_example("where is [A10023](order_id) now", "order_status")
    assert example.text == "where is A10023 now"
    assert example.entities == [EntitySpan(9, 15, "order_id", "A10023")]


def test_entity_colon_value_annotation_sets_the_value():
    example = parse_example("return my [sneakers](product_category:shoes)")
    assert example.entities == [EntitySpan(10, 18, "product_category", "shoes")]


def test_json_annotation_sets_entity_and_value():
    example = parse_example(
        'send back the [jacket]{"entity": "product_category", "value": "clothing"}'
    )
    assert example.text == "send back the jacket"
    assert example.entities == [EntitySpan(14, 20, "product_category", "clothing")]


def test_several_annotations_keep_offsets_in_the_plain_text():
    example = parse_example("[A10023](order_id) costs [$25](amount)")
    assert example.text == "A10023 costs $25"
    start, end = example.entities[1][:2]
    assert example.text[start:end] == "$25"


def test_fixture_file_gives_examples_synonyms_regexes_and_lookups(nlu_yaml):
    data = load_nlu_files([nlu_yaml])
    assert data.intents == ["greet", "order_status", "return_item"]
    assert len(data.examples) == 18
    assert data.synonyms == {"gadgets": "electronics", "tech": "electronics"}
    assert data.regexes == {"order_id": [r"\b[Aa]\d{5}\b"]}
    assert data.lookups["product_category"] == ["electronics", "shoes", "kitchen", "books"]


def test_unsupported_top_level_key_names_file_line_and_key(write_yaml):
    path = write_yaml(
        """\
        version: "3.1"
        nlu: []
        storys: []
        """
    )
    with pytest.raises(BotFileError, match=rf"{path}:3: unsupported key 'storys'"):
        load_nlu_files([path])


def test_unsupported_block_key_names_its_line(write_yaml):
    path = write_yaml(
        """\
        version: "3.1"
        nlu:
        - intent: greet
          examples: |
            - hi
        - intent: goodbye
          exemples: |
            - bye
        """
    )
    with pytest.raises(BotFileError, match=rf"{path}:7: unsupported key 'exemples'"):
        load_nlu_files([path])


def test_broken_json_annotation_names_the_example_line(write_yaml):
    path = write_yaml(
        """\
        nlu:
        - intent: greet
          examples: |
            - hi
            - hello [there]{"entity": oops}
        """
    )
    with pytest.raises(BotFileError, match=rf"{path}:5: invalid entity annotation"):
        load_nlu_files([path])


def test_invalid_regex_names_its_line(write_yaml):
    path = write_yaml(
        """\
        nlu:
        - regex: order_id
          examples: |
            - A(\\d{5}
        """
    )
    with pytest.raises(BotFileError, match=rf"{path}:4: invalid regular expression"):
        load_nlu_files([path])


def test_block_without_a_kind_is_rejected(write_yaml):
    path = write_yaml(
        """\
        nlu:
        - examples: |
            - hi
        """
    )
    with pytest.raises(BotFileError, match="exactly one of: intent, synonym, regex, lookup"):
        load_nlu_files([path])


def test_project_nlu_file_parses():
    path = Path(__file__).resolve().parents[2] / "data" / "nlu.yml"
    if not path.exists():
        pytest.skip("data/nlu.yml not written yet")
    assert len(load_nlu_files([path]).intents) >= 10


def test_json_annotation_keeps_role_and_group():
    example = parse_example('from [Berlin]{"entity": "city", "role": "departure", "group": "1"}')
    assert example.entities == [EntitySpan(5, 11, "city", "Berlin", "departure", "1")]


def test_a_list_annotation_gives_the_text_several_entities():
    example = parse_example('[Berlin][{"entity": "city"}, {"entity": "location"}]')
    assert [s.entity for s in example.entities] == ["city", "location"]


def test_an_unknown_annotation_key_is_an_error_naming_it(write_yaml):
    path = write_yaml(
        """\
        nlu:
        - intent: fly
          examples: |
            - to [Rome]{"entity": "city", "rol": "destination"}
        """
    )
    with pytest.raises(BotFileError, match=rf"{path}:4: .*unsupported key 'rol'"):
        load_nlu_files([path])


def test_retrieval_intents_train_their_base_intent(write_yaml):
    path = write_yaml(
        """\
        nlu:
        - intent: faq/ask_price
          examples: |
            - how much is it
        - intent: greet
          examples: |
            - hi
        """
    )
    data = load_nlu_files([path])
    assert data.intents == ["faq", "greet"] and data.retrieval_intents == ["faq"]
    assert data.examples[0].intent == "faq/ask_price" and data.examples[0].base_intent == "faq"


def test_several_files_merge_into_one_training_set(tmp_path):
    (tmp_path / "a.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n")
    (tmp_path / "b.yml").write_text(
        "nlu:\n- synonym: credit\n  examples: |\n    - credit card\n"
        "stories:\n- story: ignored here\n  steps: []\n"
    )
    data = load_nlu_files([tmp_path / "a.yml", tmp_path / "b.yml"])
    assert [e.text for e in data.examples] == ["hi"]
    assert data.synonyms == {"credit card": "credit"}


def test_examples_may_be_a_list_of_text_mappings(write_yaml):
    path = write_yaml(
        """\
        nlu:
        - intent: greet
          examples:
          - text: hi
            metadata: {sentiment: neutral}
          - text: hello [Anna](PERSON)
        """
    )
    data = load_nlu_files([path])
    assert [e.text for e in data.examples] == ["hi", "hello Anna"]
    assert data.examples[1].entities[0].entity == "PERSON"
