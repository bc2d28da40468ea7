"""Redaction recall per category on the labelled PII set, and how often clean customer
messages lose words to redaction (the held-out sentiment set has no personal data):

    python benchmarks/pii_recall.py [--show-misses]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from nlp.pii import find_pii
from nlp.pii_eval import false_positive_rate, read_labelled, redaction_recall
from nlp.spacy_model import load_spacy

DATA = Path(__file__).resolve().parents[1] / "tests" / "nlp" / "data"
# public customer messages (../shared/data, evaluation only) without personal data
BANKING77 = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "test.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    nlp = load_spacy()

    def find(text: str):
        return find_pii(text, nlp(text))

    rows = read_labelled(DATA / "pii_labelled.jsonl")
    result = redaction_recall(rows, find)
    print(f"{len(rows)} messages, {result['ALL'].total} labelled values")
    print(f"{'category':<10} {'caught':>7} {'total':>6} {'recall':>7}")
    for kind, category in sorted(result.items(), key=lambda kv: (kv[0] == "ALL", kv[0])):
        print(f"{kind:<10} {category.caught:>7} {category.total:>6} {category.recall:>7.1%}")
        if args.show_misses:
            for text in category.missed:
                print(f"    missed: {text}")
    for name, path in (("held-out customer messages", DATA / "cs_sentiment_heldout.csv"),
                       ("Banking77 test", BANKING77)):
        if not path.exists():
            continue
        with path.open() as fh:
            clean = [row["text"] for row in csv.DictReader(fh)]
        flagged = [t for t in clean if find(t)]
        print(f"clean messages redacted anyway ({name}): "
              f"{false_positive_rate(clean, find):.1%} of {len(clean)}")
        if args.show_misses:
            for text in flagged[:30]:
                print(f"    redacted: {text}  ->  {[text[s.start:s.end] for s in find(text)]}")


if __name__ == "__main__":
    main()
