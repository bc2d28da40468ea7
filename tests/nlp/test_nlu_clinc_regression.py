"""Regression guard on CLINC150 (../shared/data/clinc150), on a sample small enough for CI:
40 of its 150 intents (50 training examples each), their test rows and 400 of its 1,000
out-of-scope test rows. The classifier is the one `carebot train` ships (C = INTENT_C,
calibrated, Carebot's generic out-of-scope messages); CLINC's own out-of-scope rows are
never trained on. The full-size figures are benchmarks/nlu.py's."""

import numpy as np
import pandas as pd
import pytest

from nlp.components import INTENT_C
from nlp.confidence import expected_calibration_error
from nlp.evaluate import choose_threshold, intent_report
from nlp.intent import IntentClassifier
from nlp.train import base_models_ready

SEED = 15
INTENTS, PER_INTENT, OOS_TEST = 40, 50, 400
# Reached on this sample when these tests were written (in brackets); lower = regression.
MIN_IN_SCOPE_AT_VAL_THRESHOLD = 0.945  # (0.9625)
MIN_OOS_RECALL_AT_VAL_THRESHOLD = 0.88  # (0.9075)
MIN_OOS_RECALL_AT_OWN_THRESHOLD = 0.96  # (0.9875)
MIN_IN_SCOPE_AT_OWN_THRESHOLD = 0.88  # (0.9067)
MAX_ECE = 0.05  # (0.033)


@pytest.fixture(scope="module")
def clinc(clinc_dir):
    frames = {s: pd.read_csv(clinc_dir / f"{s}.csv") for s in ("train", "val", "test")}
    rng = np.random.default_rng(SEED)
    names = sorted(set(frames["train"].intent) - {"oos"})
    chosen = set(rng.choice(names, INTENTS, replace=False))
    train = frames["train"][frames["train"].intent.isin(chosen)]
    train = train.groupby("intent").head(PER_INTENT)
    val = frames["val"][frames["val"].intent.isin(chosen) | (frames["val"].intent == "oos")]
    test = frames["test"]
    oos = test[test.intent == "oos"].sample(n=OOS_TEST, random_state=SEED)
    test = pd.concat([test[test.intent.isin(chosen)], oos])
    return train, val, test


@pytest.fixture(scope="module")
def clinc_dir(shared_data):
    return shared_data / "clinc150"


@pytest.fixture(scope="module")
def results(clinc, models_dir):
    from nlp.encoder import SentenceEncoder

    if not base_models_ready(models_dir):
        pytest.skip(f"no base models in {models_dir}; run `carebot train`")
    train, val, test = clinc
    encoder = SentenceEncoder.shared(models_dir)
    clf = IntentClassifier(encoder=encoder, C=INTENT_C, threshold=0.0)
    clf.fit(train.text.tolist(), train.intent.tolist())
    val_scores = clf.scores(val.text.tolist())
    test_scores = clf.scores(test.text.tolist())
    own = clf.scope_threshold_
    out = {"own_threshold": own}
    threshold = choose_threshold(val_scores, clf.classes_, val.intent.tolist(), "oos")
    for key, value in (("val", threshold), ("own", own)):
        clf.scope_threshold_ = 0.0
        clf.set_params(threshold=value)
        out[key] = intent_report(test.intent.tolist(), list(clf.decide(test_scores)), "oos").extra
    inscope = (test.intent != "oos").to_numpy()
    top = clf.classes_[test_scores.argmax(axis=1)]
    out["ece"] = expected_calibration_error(
        test_scores.max(axis=1)[inscope], (top == test.intent.to_numpy())[inscope]
    )[0]
    return out


def test_in_scope_accuracy_at_the_threshold_chosen_on_val(results):
    assert results["val"]["in_scope_accuracy"] >= MIN_IN_SCOPE_AT_VAL_THRESHOLD


def test_out_of_scope_recall_at_the_threshold_chosen_on_val(results):
    assert results["val"]["oos_recall"] >= MIN_OOS_RECALL_AT_VAL_THRESHOLD


def test_out_of_scope_recall_at_the_projects_own_threshold(results):
    assert results["own"]["oos_recall"] >= MIN_OOS_RECALL_AT_OWN_THRESHOLD


def test_in_scope_accuracy_at_the_projects_own_threshold(results):
    assert results["own"]["in_scope_accuracy"] >= MIN_IN_SCOPE_AT_OWN_THRESHOLD


def test_confidence_is_calibrated_on_clinc(results):
    assert results["ece"] <= MAX_ECE
