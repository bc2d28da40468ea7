"""config.yml's pipeline read onto Carebot's NLU (nlp.components)."""

import pytest

from nlp.components import PipelineError, UnknownComponentError, read_pipeline


def component(name, line=3, **options):
    return {"name": name, **options, "__source__": f"config.yml:{line}"}


def test_an_empty_pipeline_is_rasas_default():
    settings = read_pipeline([])
    assert settings.intent_classifier and settings.entity_tagger == "DIETClassifier"
    assert (settings.fallback_threshold, settings.ambiguity_threshold) == (0.3, 0.1)
    assert settings.synonyms and [s.key for s in settings.response_selectors] == ["default"]


def test_an_unknown_component_names_itself_and_its_line():
    with pytest.raises(
        UnknownComponentError, match=r"^config.yml:7: unknown NLU component 'my.Custom'"
    ):
        read_pipeline([component("DIETClassifier"), component("my.Custom", line=7)])


def test_the_unknown_component_error_is_a_value_error_the_cli_can_print():
    assert issubclass(UnknownComponentError, ValueError)


def test_a_known_rasa_component_carebot_lacks_says_why():
    with pytest.raises(UnknownComponentError, match="MitieNLP.*not supported: MITIE"):
        read_pipeline([component("MitieNLP"), component("DIETClassifier")])


def test_fallback_thresholds_are_read_from_the_fallback_classifier():
    settings = read_pipeline(
        [component("DIETClassifier"), component("FallbackClassifier", threshold=0.7)]
    )
    assert (settings.fallback_threshold, settings.ambiguity_threshold) == (0.7, 0.1)


def test_a_threshold_that_is_not_a_number_names_the_option():
    with pytest.raises(PipelineError, match="config.yml:3: FallbackClassifier: 'threshold'"):
        read_pipeline(
            [component("DIETClassifier"), component("FallbackClassifier", threshold="hi")]
        )


def test_without_a_fallback_classifier_nothing_falls_back():
    assert read_pipeline([component("DIETClassifier")]).fallback_threshold is None


def test_options_carebot_does_not_apply_are_noted_not_dropped():
    settings = read_pipeline([component("DIETClassifier", epochs=100)])
    assert settings.notes == ["config.yml:3: DIETClassifier: option(s) epochs not used by Carebot"]


def test_a_pipeline_without_an_intent_classifier_is_refused():
    with pytest.raises(PipelineError, match="no intent classifier"):
        read_pipeline([component("WhitespaceTokenizer")])


def test_entity_recognition_off_leaves_no_tagger():
    settings = read_pipeline([component("DIETClassifier", entity_recognition=False)])
    assert settings.entity_tagger is None and settings.extractor_order == []


def test_extractors_keep_the_pipeline_order():
    settings = read_pipeline(
        [
            component("DucklingEntityExtractor", url="http://localhost:8000", dimensions=["time"]),
            component("DIETClassifier"),
            component("SpacyEntityExtractor", dimensions=["PERSON"]),
        ]
    )
    assert settings.extractor_order == [
        "DucklingEntityExtractor",
        "DIETClassifier",
        "SpacyEntityExtractor",
    ]
    assert settings.duckling.dimensions == ["time"] and settings.spacy_dimensions == ["PERSON"]
