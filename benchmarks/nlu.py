"""NLU figures of issue 3 on the public data in ../shared/data, printed as one table.

    python benchmarks/nlu.py --models-dir models [--data ../shared/data] [--train-time]

Intent: Banking77 (train -> test), CLINC150 (in-scope train -> threshold on val -> test).
Sentiment: the trained (shipped) model on airline tweets (3 classes, never trained on) and
SST-2 test (2 classes; SST-2 sentences are excluded from the model's training data).
Latency: NLU.parse one message at a time (p50/p99) and parse_batch throughput, with the
result cache off and messages all different. --train-time also times a from-scratch
training of the demo bot's NLU into a temporary directory. Takes minutes; not run by CI.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from nlp.encoder import SentenceEncoder  # noqa: E402
from nlp.evaluate import choose_threshold, intent_report, sentiment_report  # noqa: E402
from nlp.intent import IntentClassifier  # noqa: E402


def embed(encoder, texts: list[str], cache: Path | None, name: str) -> np.ndarray:
    path = cache / f"{name}.npy" if cache else None
    if path and path.exists():
        return np.load(path)
    vectors = encoder.encode(texts)
    if path:
        np.save(path, vectors)
    return vectors


def banking77(data: Path, encoder, cache) -> dict:
    train = pd.read_csv(data / "banking77" / "train.csv")
    test = pd.read_csv(data / "banking77" / "test.csv")
    started = time.perf_counter()
    clf = IntentClassifier(encoder=encoder, threshold=0.0).fit(
        train.text.tolist(),
        train.category.tolist(),
        embeddings=embed(encoder, train.text.tolist(), cache, "b77_train"),
    )
    fit = time.perf_counter() - started
    predicted = clf.predict(
        test.text.tolist(), embed(encoder, test.text.tolist(), cache, "b77_test")
    )
    report = intent_report(test.category.tolist(), list(predicted), None)
    return {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "fit_s": fit}


def clinc150(data: Path, encoder, cache) -> dict:
    frames = {s: pd.read_csv(data / "clinc150" / f"{s}.csv") for s in ("train", "val", "test")}
    train = frames["train"][frames["train"].intent != "oos"]
    clf = IntentClassifier(encoder=encoder).fit(
        train.text.tolist(),
        train.intent.tolist(),
        embeddings=embed(encoder, train.text.tolist(), cache, "clinc_train_inscope"),
    )
    val, test = frames["val"], frames["test"]
    val_proba = clf.predict_proba(
        val.text.tolist(), embed(encoder, val.text.tolist(), cache, "clinc_val")
    )
    threshold = choose_threshold(val_proba, clf.classes_, val.intent.tolist(), "oos")
    clf.set_params(threshold=threshold)
    predicted = clf.predict(
        test.text.tolist(), embed(encoder, test.text.tolist(), cache, "clinc_test")
    )
    report = intent_report(test.intent.tolist(), list(predicted), "oos")
    return {
        "threshold": threshold,
        **{k: report.extra[k] for k in ("in_scope_accuracy", "oos_recall", "oos_precision")},
    }


def sentiment(data: Path, encoder) -> dict:
    out = {}
    for name, path in (
        ("airline", data / "sentiment_airline" / "test.csv"),
        ("sst2", data / "sentiment_sst2" / "test.csv"),
        ("cs_heldout", REPO / "tests" / "nlp" / "data" / "cs_sentiment_heldout.csv"),
    ):
        frame = pd.read_csv(path)
        _, proba = encoder.encode_with_sentiment(frame.text.astype(str).tolist())
        report = sentiment_report(frame.label.astype(str).tolist(), proba)
        out[name] = {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "n": len(frame)}
    return out


def latency(models_dir: Path, data: Path, n: int = 400) -> dict:
    from nlp.pipeline import NLU

    nlu = NLU.load(models_dir)
    nlu.cache_size = 0
    texts = pd.read_csv(data / "clinc150" / "test.csv").text.tolist()
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.permutation(len(texts))]
    singles = texts[:n]
    for t in singles[:20]:
        nlu.parse(t)
    times = []
    for t in singles:
        started = time.perf_counter()
        nlu.parse(t)
        times.append(time.perf_counter() - started)
    times_ms = np.array(times) * 1000
    batch = texts[n : n + 2048]
    started = time.perf_counter()
    for i in range(0, len(batch), 64):
        nlu.parse_batch(batch[i : i + 64])
    throughput = len(batch) / (time.perf_counter() - started)
    return {
        "p50_ms": float(np.percentile(times_ms, 50)),
        "p99_ms": float(np.percentile(times_ms, 99)),
        "batch_msgs_per_s": throughput,
    }


def train_time(models_dir: Path) -> float:
    from nlp.train import train

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        train(REPO / "data" / "nlu.yml", Path(tmp), retrain_sentiment=True, progress=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=REPO / "models")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=None, help="Directory to cache embeddings.")
    parser.add_argument("--train-time", action="store_true")
    parser.add_argument("--only", default="intent,sentiment,latency")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(","))
    encoder = SentenceEncoder.shared(args.models_dir)
    rows = []
    load = lambda: "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())  # noqa: E731
    if "intent" in only:
        b = banking77(args.data, encoder, args.cache)
        rows.append(
            (
                "Banking77 test accuracy",
                "≥ 94.0%",
                f"{b['accuracy']:.2%} (macro-F1 {b['macro_f1']:.3f})",
                load(),
            )
        )
        c = clinc150(args.data, encoder, args.cache)
        rows.append(
            (
                "CLINC150 in-scope acc / OOS recall",
                "≥ 95% / ≥ 85%",
                f"{c['in_scope_accuracy']:.2%} / {c['oos_recall']:.2%} (thr {c['threshold']:.2f} on val, OOS prec {c['oos_precision']:.2%})",
                load(),
            )
        )
    if "sentiment" in only:
        s = sentiment(args.data, encoder)
        rows.append(
            (
                "airline 3-class (never trained on)",
                "≥ 80%",
                f"{s['airline']['accuracy']:.2%} (macro-F1 {s['airline']['macro_f1']:.3f})",
                load(),
            )
        )
        rows.append(("SST-2 test 2-class", "≥ 88%", f"{s['sst2']['accuracy']:.2%}", load()))
        rows.append(
            (
                "own CS held-out 3-class",
                "-",
                f"{s['cs_heldout']['accuracy']:.2%} (n={s['cs_heldout']['n']})",
                load(),
            )
        )
    if args.train_time:
        seconds = train_time(args.models_dir)
        rows.append(("NLU training from scratch", "≤ 10 min", f"{seconds:.0f} s", load()))
    if "latency" in only:
        lat = latency(args.models_dir, args.data)
        rows.append(
            (
                "parse p50 / p99",
                "≤ 8 / ≤ 25 ms",
                f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} ms",
                load(),
            )
        )
        rows.append(
            (
                "parse_batch throughput",
                "≥ 400 msg/s",
                f"{lat['batch_msgs_per_s']:.0f} msg/s",
                load(),
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'target':<15}  {'reached':<60}  machine")
    for name, target, got, where in rows:
        print(f"{name:<{width}}  {target:<15}  {got:<60}  {where}")


if __name__ == "__main__":
    main()
