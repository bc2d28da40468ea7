"""The sentiment model's training data: what goes in, and what must never go in."""

import csv
import importlib.util

import pytest

from nlp.sentiment_data import (
    _LOREM,
    CS_SENTIMENT_TWEETS_CSV,
    SST2_EVAL_HASHES,
    _english_words,
    nonsense_rows,
    normalise,
    read_labelled_csv,
    text_hash,
    training_examples,
    vader_ground_truth,
)
from nlp.types import SENTIMENT_LABELS

spec = importlib.util.spec_from_file_location(
    "make_cs_sentiment_tweets", CS_SENTIMENT_TWEETS_CSV.with_name("make_cs_sentiment_tweets.py")
)
make_tweets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_tweets)

# Handles of the airlines in the airline-tweet evaluation set: our rows name invented brands only.
EVALUATION_BRANDS = ("united", "jetblue", "southwest", "virgin", "americanair", "usairways")


@pytest.fixture(scope="module")
def rows():
    return training_examples()


@pytest.fixture(scope="module")
def tweet_rows():
    return read_labelled_csv(CS_SENTIMENT_TWEETS_CSV)


def test_the_shipped_tweet_csv_is_what_its_generator_writes(tweet_rows):
    generated = [(t, SENTIMENT_LABELS.index(label)) for t, label in make_tweets.rows()]
    assert tweet_rows == generated


def test_tweet_rows_cover_all_three_labels_and_repeat_no_message(tweet_rows):
    labels = [label for _, label in tweet_rows]
    assert all(labels.count(i) >= 500 for i in range(len(SENTIMENT_LABELS)))
    assert len({t.lower() for t, _ in tweet_rows}) == len(tweet_rows)


def test_neutral_tweet_rows_carry_no_emotion_markers(tweet_rows):
    markers = set(make_tweets.NEG_EMOJI + make_tweets.POS_EMOJI)
    markers |= set(make_tweets.NEG_TAGS + make_tweets.POS_TAGS)
    neutral = [t for t, label in tweet_rows if SENTIMENT_LABELS[label] == "neutral"]
    assert not [t for t in neutral if any(m in t.split() for m in markers)]


def test_tweet_rows_name_no_airline_of_the_evaluation_set(tweet_rows):
    assert not [t for t, _ in tweet_rows if any(b in t.lower() for b in EVALUATION_BRANDS)]


def test_training_rows_include_the_tweet_register_rows(rows, tweet_rows):
    texts = {t for t, _ in rows}
    assert all(t in texts for t, _ in tweet_rows)


def test_no_training_row_is_an_sst2_evaluation_sentence(rows):
    excluded = set(SST2_EVAL_HASHES.read_text().split())
    # A one-word chat reply ("no") may share its hash with a one-word SST-2 phrase.
    assert not [t for t, _ in rows if len(t.split()) > 2 and text_hash(t) in excluded]


def test_no_training_row_is_an_airline_evaluation_tweet(rows, shared_data):
    with (shared_data / "sentiment_airline" / "tweets_all.csv").open(encoding="utf-8") as f:
        airline = {normalise(row["text"]) for row in csv.DictReader(f)}
    assert not [t for t, _ in rows if normalise(t) in airline]


def test_vader_ratings_become_labels_at_the_threshold(tmp_path):
    import io
    import tarfile

    rated = "1\t2.5\tlove this\n2\t0.4\tflying tomorrow\n3\t-1.0\tugh, delayed\n"
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        for name in ("tweets", "amazonReviewSnippets"):
            data = rated.encode("latin-1")
            info = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sdist = tmp_path / "vaderSentiment-3.3.2.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        info = tarfile.TarInfo("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
        info.size = len(inner.getvalue())
        tar.addfile(info, io.BytesIO(inner.getvalue()))
    rows = vader_ground_truth(sdist, sets=("tweets",))
    assert rows == [("love this", 2), ("flying tomorrow", 1), ("ugh, delayed", 0)]


def test_nonsense_rows_are_neutral_distinct_and_the_same_every_time():
    rows = nonsense_rows(300, seed=3)
    assert rows == nonsense_rows(300, seed=3)
    assert len({t for t, _ in rows}) == 300
    assert {label for _, label in rows} == {SENTIMENT_LABELS.index("neutral")}


def test_no_invented_nonsense_word_is_an_english_word():
    words = _english_words()
    assert {"bad", "good", "angry"} <= words
    for text, _ in nonsense_rows():
        for word in text.lower().strip("?.").split():
            assert word in _LOREM or word not in words, text


def test_training_rows_include_nonsense_but_not_the_held_out_nonsense(rows, held_out_nonsense):
    texts = {normalise(t) for t, _ in rows}
    assert {normalise(t) for t, _ in nonsense_rows(1500, seed=7)} <= texts
    assert not texts & {normalise(t) for t in held_out_nonsense}
