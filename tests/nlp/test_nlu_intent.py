import numpy as np
import pytest

from nlp.intent import IntentClassifier
from nlp.training_data import load_nlu_files
from nlp.types import FALLBACK_INTENT


@pytest.fixture(scope="module")
def encoder():
    from nlp.encoder import SentenceEncoder

    return SentenceEncoder.shared()


@pytest.fixture
def fitted(nlu_yaml, encoder) -> IntentClassifier:
    data = load_nlu_files([nlu_yaml])
    return IntentClassifier(encoder=encoder, threshold=0.0).fit(
        [e.text for e in data.examples], [e.intent for e in data.examples]
    )


def test_encoder_gives_unit_vectors(encoder):
    vectors = encoder.encode(["hello", "where is my order", ""])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)


def test_unseen_paraphrases_get_the_right_intent(fitted):
    predicted = fitted.predict(["hey, hello!", "has my parcel shipped?", "I want to send it back"])
    assert list(predicted) == ["greet", "order_status", "return_item"]


def test_probabilities_cover_the_learned_intents(fitted):
    proba = fitted.predict_proba(["hello"])
    assert list(fitted.classes_) == ["greet", "order_status", "return_item"]
    assert proba.shape == (1, 3) and proba.sum() == pytest.approx(1.0)


def test_low_confidence_becomes_nlu_fallback(fitted):
    fitted.set_params(threshold=0.99)
    assert fitted.predict(["what is the capital of peru"])[0] == FALLBACK_INTENT


def test_fallback_ranks_first_with_the_threshold_as_confidence(fitted):
    fitted.set_params(threshold=0.99)
    intent, ranking = fitted.rank(["what is the capital of peru"])[0]
    assert intent.name == FALLBACK_INTENT and intent.confidence == 0.99
    assert ranking[0] == intent and len(ranking) == 4  # fallback + the 3 intents


def test_embeddings_only_variant_also_classifies(nlu_yaml, encoder):
    data = load_nlu_files([nlu_yaml])
    clf = IntentClassifier(encoder=encoder, use_tfidf=False, threshold=0.0)
    clf.fit([e.text for e in data.examples], [e.intent for e in data.examples])
    assert clf.predict(["good morning to you"])[0] == "greet"


def test_saved_classifier_does_not_pickle_the_encoder(fitted, tmp_path):
    fitted.save(tmp_path / "intent.joblib")
    assert fitted.encoder is not None
    assert IntentClassifier.load(tmp_path / "intent.joblib").encoder is None
