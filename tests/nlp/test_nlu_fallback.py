"""FallbackClassifier's threshold and ambiguity_threshold, as Rasa applies them (Carebot's
out-of-scope detection is off here: tests/nlp/test_nlu_out_of_scope.py has it)."""

import pytest

from nlp.intent import IntentClassifier
from nlp.training_data import load_nlu_files
from nlp.types import FALLBACK_INTENT


@pytest.fixture
def fitted(nlu_yaml):
    data = load_nlu_files([nlu_yaml])
    return IntentClassifier(threshold=0.0, out_of_scope=False).fit(
        [e.text for e in data.examples], [e.intent for e in data.examples]
    )


def test_an_ambiguous_top_intent_becomes_nlu_fallback(fitted):
    fitted.set_params(threshold=0.0, ambiguity_threshold=1.0)  # any gap is "too small"
    intent, ranking = fitted.rank(["hello"])[0]
    assert intent.name == FALLBACK_INTENT


def test_the_fallback_keeps_the_classifiers_ranking_behind_it(fitted):
    fitted.set_params(threshold=0.0, ambiguity_threshold=0.0)
    _, original = fitted.rank(["hello"])[0]
    fitted.set_params(ambiguity_threshold=1.0)
    intent, ranking = fitted.rank(["hello"])[0]
    assert ranking == [intent, *original]


def test_a_clear_prediction_passes_both_thresholds(fitted):
    fitted.set_params(threshold=0.2, ambiguity_threshold=0.1)
    assert fitted.predict(["hello there, good morning"])[0] == "greet"


def test_no_thresholds_means_no_fallback(fitted):
    fitted.set_params(threshold=0.0, ambiguity_threshold=0.0)
    assert fitted.predict(["what is the capital of peru"])[0] != FALLBACK_INTENT
