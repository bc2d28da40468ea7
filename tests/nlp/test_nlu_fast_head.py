"""The serving fast path of the NLU (the performance issue): the intent classifier's numpy
head gives scikit-learn's numbers, its serving form (what a server loads, without
scikit-learn) gives the same, a batch parses as its messages one by one, and the result cache
is keyed by text and model.

Uses the repo's trained models (CAREBOT_MODELS_DIR, default models/ after `make models`).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nlp.confidence import scope_features, spread_ranking
from nlp.intent import IntentClassifier
from nlp.intent_serving import ServingIntents, make_analyzer, serving_path
from nlp.types import FALLBACK_INTENT

REPO = Path(__file__).resolve().parents[2]
HELDOUT = REPO / "tests" / "nlp" / "data" / "intent_heldout.csv"
ODD = ["", "   ", "?!", "A10023", "ünïcödé café 😀", "word " * 200, "HELLO HELLO HELLO"]


@pytest.fixture(scope="module")
def nlu(models_dir):
    from nlp.pipeline import NLU

    if not NLU.is_trained(models_dir):
        pytest.skip(f"no trained models in {models_dir}; run `make models`")
    return NLU.load(models_dir)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return pd.read_csv(HELDOUT).text.astype(str).tolist() + ODD


@pytest.fixture(scope="module")
def fitted(nlu, models_dir) -> IntentClassifier:
    """The demo shop's classifier as `carebot train` fitted it (scikit-learn)."""
    return IntentClassifier.load(models_dir / "intent.joblib", encoder=nlu.encoder.for_intents())


def test_the_server_loads_the_serving_form(nlu, models_dir):
    assert serving_path(models_dir / "intent.joblib").exists()
    assert isinstance(nlu.intents, ServingIntents)


def test_the_serving_form_decides_as_the_fitted_classifier(nlu, fitted, texts):
    served = nlu.intents
    emb = nlu.encoder.encode(texts)
    assert list(served.classes_) == list(fitted.classes_)
    assert served.effective_threshold == fitted.effective_threshold
    assert served.ambiguity_threshold == fitted.ambiguity_threshold
    np.testing.assert_allclose(served.predict_proba(texts, emb), fitted._raw_proba(texts, emb),
                               rtol=0, atol=1e-9)  # fmt: skip
    np.testing.assert_allclose(served.scores(texts, emb), fitted.scores(texts, emb),
                               rtol=0, atol=1e-12)  # fmt: skip
    assert served.rank(texts, emb) == fitted.rank(texts, emb)
    again = pickle.loads(pickle.dumps(served))  # the response selectors are pickled so
    np.testing.assert_array_equal(again.scores(texts, emb), served.scores(texts, emb))


def test_the_serving_analyzers_make_scikit_learns_ngrams(texts):
    from sklearn.feature_extraction.text import TfidfVectorizer

    odd = texts + ["a", "ab", "a  b\tc\n d", "don't stop-me now", "x" * 7, "Ünï ÇÅFÉ", "1 22 333"]
    for kind, ngrams in (("word", (1, 2)), ("char_wb", (2, 5)), ("word", (1, 1)),
                         ("char_wb", (3, 3)), ("word", (2, 3))):  # fmt: skip
        want = TfidfVectorizer(analyzer=kind, ngram_range=ngrams).build_analyzer()
        ours = make_analyzer(kind, ngrams)
        for text in odd:
            assert ours(text) == want(text), (kind, ngrams, text)
    with pytest.raises(ValueError, match="char"):
        make_analyzer("char", (1, 2))


def test_the_numpy_head_gives_scikit_learns_probabilities_and_confidences(nlu, fitted, texts):
    clf = fitted
    head = clf._head()
    assert head is not None, "the demo shop's classifier should take the numpy path"
    emb = nlu.encoder.encode(texts)
    fast, slow = clf.predict_proba(texts, emb), clf._raw_proba(texts, emb)
    assert fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)
    features = scope_features(slow, emb, clf.reference_, clf.reference_labels_)
    want = spread_ranking(slow, clf.confidence_.predict(features))
    got = clf.scores(texts, emb)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert list(clf.decide(got)) == list(clf.decide(want))


def test_the_head_follows_a_refit_and_is_not_pickled(nlu, fitted):
    clf = pickle.loads(pickle.dumps(fitted))
    clf.encoder = nlu.encoder
    assert "_head_cache" not in pickle.loads(pickle.dumps(clf)).__dict__
    texts = ["where is my parcel", "hello", "I want my money back"]
    first = clf._head()
    assert clf._head() is first  # built once
    clf.set_params(calibrate=False)
    clf.fit(["hi there", "hello there", "track my order", "where is my order"],
            ["greet", "greet", "order_status", "order_status"])  # fmt: skip
    assert clf._head() is not first
    emb = nlu.encoder.encode(texts)
    np.testing.assert_allclose(clf.predict_proba(texts, emb), clf._raw_proba(texts, emb),
                               rtol=0, atol=1e-9)  # fmt: skip


def test_a_classifier_saved_without_a_serving_form_still_serves(nlu, fitted, tmp_path, caplog):
    """Models from before serving forms (or of a kind the head does not compute) load the
    scikit-learn classifier; saving such a classifier removes a stale serving form; a serving
    form beside another classifier than the one it was made from (copied, or left by a
    retraining that wrote none) is not used."""
    import logging
    import shutil

    from sklearn.linear_model import SGDClassifier

    from nlp.pipeline import load_intents

    path = tmp_path / "intent.joblib"
    fitted.save(path)
    assert isinstance(load_intents(path, nlu.encoder.for_intents()), ServingIntents)
    serving_path(path).unlink()
    assert isinstance(load_intents(path, nlu.encoder.for_intents()), IntentClassifier)
    fitted.save(path)
    other = tmp_path / "other" / "intent.joblib"
    other.parent.mkdir()
    changed = pickle.loads(pickle.dumps(fitted))
    changed.threshold = 0.55
    changed.save(other)
    assert isinstance(load_intents(other, nlu.encoder.for_intents()), ServingIntents)
    shutil.copy(serving_path(path), serving_path(other))  # the first one's form
    with caplog.at_level(logging.WARNING, logger="nlp.pipeline"):
        assert isinstance(load_intents(other, nlu.encoder.for_intents()), IntentClassifier)
    assert "another intent.joblib" in caplog.text
    odd = pickle.loads(pickle.dumps(fitted))
    texts, labels = ["hi", "hello there", "track my order", "where is my order"], [
        "greet", "greet", "order", "order"]  # fmt: skip
    odd.set_params(calibrate=False, encoder=nlu.encoder).fit(texts, labels)
    odd.model_ = SGDClassifier(loss="log_loss", random_state=0).fit(
        odd._features(texts, None, fit=False), labels)
    fitted.save(path)
    assert serving_path(path).exists()
    odd.save(path)
    assert not serving_path(path).exists()
    assert isinstance(load_intents(path, nlu.encoder.for_intents()), IntentClassifier)


def test_another_model_is_left_to_scikit_learn(nlu):
    from sklearn.linear_model import SGDClassifier

    texts = ["hi", "hello there", "track my order", "where is my order", "bye", "goodbye"]
    labels = ["greet", "greet", "order", "order", "bye", "bye"]
    clf = IntentClassifier(encoder=nlu.encoder, calibrate=False).fit(texts, labels)
    assert clf._head() is not None
    emb = nlu.encoder.encode(texts)
    clf.model_ = SGDClassifier(loss="log_loss", random_state=0).fit(
        clf._features(texts, emb, fit=False), labels
    )
    assert clf._head() is None
    np.testing.assert_allclose(clf.predict_proba(texts, emb), clf._raw_proba(texts, emb))


def test_a_batch_parses_as_its_messages_one_by_one(nlu, texts):
    """What the server's NLU batcher relies on: results do not depend on the batch."""
    sample = texts[::4] + ODD
    nlu._cache.clear()
    batched = nlu.parse_batch(sample)
    nlu._cache.clear()
    single = []
    for text in sample:
        single.append(nlu.parse(text))
        nlu._cache.clear()
    assert [b.text for b in batched] == sample
    for b, s in zip(batched, single, strict=True):
        assert b.intent.name == s.intent.name, b.text
        assert b.to_dict()["entities"] == s.to_dict()["entities"], b.text
        assert (b.redacted_text, b.pii) == (s.redacted_text, s.pii)
        # int8 dynamic quantisation scales each ONNX run's activations over the whole padded
        # batch, so the numbers move a little with the batch (measured: confidences by
        # < 0.015, a borderline sentiment such as "?!" may flip). A fallback's confidence is
        # the threshold it missed (0.3, or the out-of-scope threshold when only that one was
        # missed), so compare the classifier's own top intent behind it: a low confidence,
        # and an out-of-scope message's embedding moves most (measured up to 0.05).
        if b.intent.name == FALLBACK_INTENT:
            behind_b, behind_s = b.intent_ranking[1], s.intent_ranking[1]
            assert abs(behind_b.confidence - behind_s.confidence) < 0.1, b.text
        else:
            assert abs(b.intent.confidence - s.intent.confidence) < 0.05, b.text
    same_sentiment = np.mean([b.sentiment.label == s.sentiment.label
                              for b, s in zip(batched, single, strict=True)])  # fmt: skip
    assert same_sentiment >= 0.9


def test_a_parse_resolved_against_the_clock_is_not_cached(models_dir):
    from nlp.components import DucklingSettings
    from nlp.duckling import DucklingExtractor
    from nlp.pipeline import NLU

    nlu = NLU.load(models_dir)
    nlu.duckling = DucklingExtractor(DucklingSettings(dimensions=["time", "number"]))
    nlu.settings.extractor_order = [*nlu.settings.extractor_order, "DucklingEntityExtractor"]
    timed = nlu.parse("can it arrive tomorrow")
    assert any(e.entity == "time" for e in timed.entities)
    assert "can it arrive tomorrow" not in nlu._cache  # "tomorrow" changes at midnight
    counted = nlu.parse("I want two of them")
    assert [e.entity for e in counted.entities if e.extractor == "DucklingEntityExtractor"] == [
        "number"
    ]
    assert nlu.parse("I want two of them") is counted  # cached: no clock in it
