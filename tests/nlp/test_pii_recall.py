"""Personal data that redaction used to miss is caught, and the recall on the labelled set
(tests/nlp/data/pii_labelled.jsonl) stays where it was measured (benchmarks/pii_recall.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nlp.pii import find_pii, iban_valid, redact
from nlp.pii_eval import false_positive_rate, read_labelled, redaction_recall

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(("text", "secret"), [
    ("my wife is mary jones", "mary jones"),
    ("refund to GB82WEST12345698765432 please", "GB82WEST12345698765432"),
    ("ssn 078-05-1120", "078-05-1120"),
    ("I live in London NW1 6XE", "NW1 6XE"),
    ("JOHN(at)example(dot)com", "JOHN(at)example(dot)com"),
])
def test_personal_data_redaction_used_to_miss_is_hidden(spacy_nlp, text, secret):
    redacted, _ = redact(text, spacy_nlp(text))
    assert secret.lower() not in redacted.lower()
    for word in secret.split():
        assert word not in redacted


def test_an_iban_with_spaces_is_one_span_and_the_next_word_stays():
    text = "iban GB82 WEST 1234 5698 7654 32 then refund"
    [span] = find_pii(text)
    assert (span.kind, text[span.start:span.end]) == ("IBAN", "GB82 WEST 1234 5698 7654 32")


def test_a_reference_that_fails_the_iban_check_is_left_alone():
    assert not iban_valid("GB82WEST12345698765433")
    assert find_pii("reference GB82WEST12345698765433") == []


def test_order_numbers_are_not_taken_for_postcodes_or_ids():
    assert find_pii("where is order A10023 and A12345?") == []


def test_an_adjective_after_my_wife_is_is_not_a_name():
    assert find_pii("my wife is very upset and my son is sick") == []


@pytest.fixture(scope="module")
def recall(spacy_nlp):
    rows = read_labelled(DATA / "pii_labelled.jsonl")
    assert len(rows) >= 200
    result = redaction_recall(rows, lambda text: find_pii(text, spacy_nlp(text)))
    print("\nredaction recall per category:")
    for kind, category in sorted(result.items()):
        print(f"  {kind:<8} {category.caught:>4}/{category.total:<4} {category.recall:.1%}")
    return result


def test_the_labelled_set_covers_every_category_of_personal_data(recall):
    assert {"PERSON", "EMAIL", "PHONE", "CARD", "ADDRESS", "IBAN", "SSN"} <= recall.keys()
    assert all(recall[kind].total >= 25 for kind in recall)


@pytest.mark.parametrize(("kind", "at_least"), [
    ("EMAIL", 0.98), ("PHONE", 0.95), ("CARD", 0.98), ("ADDRESS", 0.95), ("IBAN", 0.98),
    ("SSN", 0.95), ("PERSON", 0.85), ("ALL", 0.95)])
def test_redaction_recall_stays_as_measured(recall, kind, at_least):
    assert recall[kind].recall >= at_least, recall[kind].missed


def test_clean_customer_messages_keep_their_words(spacy_nlp):
    with (DATA / "cs_sentiment_heldout.csv").open() as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    assert false_positive_rate(texts, lambda t: find_pii(t, spacy_nlp(t))) <= 0.02
