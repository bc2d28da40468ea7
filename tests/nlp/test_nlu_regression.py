"""Regression guard: the shipped sentiment model on the project's own held-out
customer-service messages (tests/nlp/data/cs_sentiment_heldout.csv, never trained on) and on
samples of airline tweets, SST-2 and TweetEval (never trained on either)."""

from pathlib import Path

import pytest

from nlp.encoder import SentenceEncoder
from nlp.evaluate import read_csv_columns, sentiment_report

HELDOUT = Path(__file__).parent / "data" / "cs_sentiment_heldout.csv"
# Reached when the floors were last raised (issue 15: 0.973 and 0.933 on 75 rows, of them 30
# negative); lower = regression.
MIN_ACCURACY = 0.92
MIN_NEGATIVE_RECALL = 0.86


@pytest.fixture(scope="module")
def report(models_dir):
    if not (models_dir / "sentiment" / "branch.safetensors").exists():
        pytest.skip(f"no trained sentiment model in {models_dir}; run `carebot train`")
    texts, gold = read_csv_columns(HELDOUT, "text", "label")
    _, proba = SentenceEncoder.shared(models_dir).encode_with_sentiment(texts)
    return sentiment_report(gold, proba)


def test_held_out_customer_service_accuracy_does_not_drop(report):
    assert report.accuracy >= MIN_ACCURACY


def test_held_out_complaints_are_still_caught(report):
    negative = report.labels.index("negative")
    row = report.confusion[negative]
    assert row[negative] / sum(row) >= MIN_NEGATIVE_RECALL


# Samples of public sets the model never trained on (../shared/data), small enough for CI:
# (folder, file, label column, rows). Airline tweets are customers writing to a service;
# SST-2 sentences are movie reviews; TweetEval is general tweets (macro recall, its metric).
SAMPLES = {
    "airline": ("sentiment_airline", "test.csv", "label", 600),
    "sst2": ("sentiment_sst2", "test.csv", "label", 600),
    "tweeteval": ("sentiment_tweeteval", "test.csv", "label_name", 600),
}
# Reached on these samples when the tests were written (in brackets); lower = regression.
# Issue 15 (RT snippets + own CS rows incl. tweet register), the int8 graph as served:
# airline [0.775], SST-2 [0.850], TweetEval macro recall [0.559] (the model before: 53.4% on the whole test set).
MIN_SAMPLE_ACCURACY = {"airline": 0.73, "sst2": 0.82}
MIN_TWEETEVAL_MACRO_RECALL = 0.54


@pytest.fixture(scope="module")
def sample_reports(models_dir, shared_data):
    import pandas as pd

    if not (models_dir / "sentiment" / "branch.safetensors").exists():
        pytest.skip(f"no trained sentiment model in {models_dir}; run `carebot train`")
    encoder = SentenceEncoder.shared(models_dir)
    reports = {}
    for name, (folder, file, column, rows) in SAMPLES.items():
        frame = pd.read_csv(shared_data / folder / file).sample(n=rows, random_state=15)
        _, proba = encoder.encode_with_sentiment(frame.text.astype(str).tolist())
        reports[name] = sentiment_report(frame[column].astype(str).tolist(), proba)
    return reports


@pytest.mark.parametrize("name", ["airline", "sst2"])
def test_sentiment_on_a_sample_it_never_saw_does_not_drop(sample_reports, name):
    assert sample_reports[name].accuracy >= MIN_SAMPLE_ACCURACY[name]


def test_tweeteval_macro_recall_does_not_drop(sample_reports):
    confusion = sample_reports["tweeteval"].confusion
    recall = sum(row[i] / sum(row) for i, row in enumerate(confusion)) / len(confusion)
    assert recall >= MIN_TWEETEVAL_MACRO_RECALL
