"""NLU figures of issue 15 on the public data in ../shared/data, printed as one table.

    python benchmarks/nlu.py --models-dir models [--data ../shared/data] [--cache DIR]
                             [--only intent,own,sentiment,latency] [--repeat N]
                             [--finetune DIR [--finetune-epochs N] [--finetune-lr LR]]

Intent (the classifier `carebot train` ships: C = INTENT_C, calibrated, generic
out-of-scope messages): Banking77 (train -> test), CLINC150 (in-scope train -> test, out of
scope at one threshold: chosen on val, and the project's own from cross-validation).
``--finetune DIR``: the intent encoder fine-tuned on each train set first (graphs in DIR),
its time counted in the train time; the demo shop trained with --finetune too.
Own: the demo shop trained from its config.yml into a temporary folder (train time with the
base models built), measured on its held-out messages (tests/nlp/data/intent_heldout.csv).
Sentiment: the shipped model on airline tweets (3 classes, never trained on), SST-2 test
(2 classes; SST-2 sentences are excluded from the model's training data), TweetEval test.
Latency: the demo shop's NLU.parse one message at a time (p50/p99) and parse_batch
throughput, result cache off, messages all different; wall clock and the parsing thread's CPU
time (what the code costs on a shared machine), ``--repeat N`` runs (each printed, the table
shows their median). Takes ~15 minutes; not run by CI.
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

from nlp.components import INTENT_C  # noqa: E402
from nlp.confidence import expected_calibration_error  # noqa: E402
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


def fit(encoder, texts, labels, embeddings, **kwargs):
    started = time.perf_counter()
    clf = IntentClassifier(encoder=encoder, C=INTENT_C, threshold=0.0, **kwargs)
    clf.fit(texts, labels, embeddings=embeddings)
    return clf, time.perf_counter() - started


def ece_of(clf, texts, embeddings, gold) -> float:
    scores = clf.scores(texts, embeddings)
    top = clf.classes_[scores.argmax(axis=1)]
    return expected_calibration_error(scores.max(axis=1), top == np.asarray(gold))[0]


class Finetune:
    """``--finetune``: the intent branch fine-tuned on each data set's train rows
    (nlp.finetune, as `carebot train --finetune` does), its graph written under ``out``."""

    def __init__(self, base_dir: Path, out: Path, epochs: int, learning_rate: float) -> None:
        self.base_dir, self.out = base_dir, out
        self.epochs, self.learning_rate = epochs, learning_rate

    def encoder(self, name: str, texts: list[str], labels: list[str]):
        """(the classifier's encoder on the fine-tuned graph, seconds fine-tuning took)."""
        from nlp.finetune import finetune_project

        folder = self.out / name
        folder.mkdir(parents=True, exist_ok=True)
        report = finetune_project(texts, labels, folder, self.base_dir, epochs=self.epochs,
                                  learning_rate=self.learning_rate, progress=False)  # fmt: skip
        tuned = SentenceEncoder.shared(self.base_dir, graph=folder / report.graph)
        return tuned.for_intents(), sum(report.seconds.values())


def intent_encoder(encoder, finetune: Finetune | None, cache, name, texts, labels):
    """(encoder, embeddings cache or None, fine-tuning seconds)."""
    if finetune is None:
        return encoder, cache, 0.0
    tuned, seconds = finetune.encoder(name, texts, labels)
    return tuned, None, seconds  # fine-tuned embeddings are never cached


def banking77(data: Path, encoder, cache, finetune: Finetune | None = None) -> dict:
    """Accuracy with no fallback (Banking77 has no out-of-scope rows); ECE of the calibrated
    confidence on the test set. Train time: fine-tuning (with --finetune) + classifier."""
    train = pd.read_csv(data / "banking77" / "train.csv")
    test = pd.read_csv(data / "banking77" / "test.csv")
    encoder, cache, ft_s = intent_encoder(encoder, finetune, cache, "banking77",
                                          train.text.tolist(), train.category.tolist())  # fmt: skip
    clf, fit_s = fit(
        encoder,
        train.text.tolist(),
        train.category.tolist(),
        embed(encoder, train.text.tolist(), cache, "b77_train"),
    )
    fit_s += ft_s
    test_emb = embed(encoder, test.text.tolist(), cache, "b77_test")
    top = clf.classes_[clf.predict_proba(test.text.tolist(), test_emb).argmax(axis=1)]
    report = intent_report(test.category.tolist(), list(top), None)
    ece = ece_of(clf, test.text.tolist(), test_emb, test.category.tolist())
    return {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "fit_s": fit_s, "ece": ece}


def clinc150(data: Path, encoder, cache, finetune: Finetune | None = None) -> dict:
    """Trained on the in-scope train rows only (CLINC's oos rows are never seen in training).
    Out of scope = nlu_fallback at one threshold on the calibrated confidence: chosen on val
    (the data set's protocol) and, apart, the project's own threshold from cross-validation
    with Carebot's generic out-of-scope messages (no CLINC out-of-scope row involved)."""
    frames = {s: pd.read_csv(data / "clinc150" / f"{s}.csv") for s in ("train", "val", "test")}
    train = frames["train"][frames["train"].intent != "oos"]
    inscope = (frames["train"].intent != "oos").to_numpy()
    encoder, cache, ft_s = intent_encoder(encoder, finetune, cache, "clinc150",
                                          train.text.tolist(), train.intent.tolist())  # fmt: skip
    train_emb = embed(encoder, frames["train"].text.tolist(), cache, "clinc_train")[inscope]
    clf, fit_s = fit(encoder, train.text.tolist(), train.intent.tolist(), train_emb)
    fit_s += ft_s
    val, test = frames["val"], frames["test"]
    val_scores = clf.scores(
        val.text.tolist(), embed(encoder, val.text.tolist(), cache, "clinc_val")
    )
    threshold = choose_threshold(val_scores, clf.classes_, val.intent.tolist(), "oos")
    test_emb = embed(encoder, test.text.tolist(), cache, "clinc_test")
    test_scores = clf.scores(test.text.tolist(), test_emb)
    out = {"fit_s": fit_s, "threshold": threshold, "auto_threshold": clf.scope_threshold_}
    for key, thr in (("val", threshold), ("auto", clf.scope_threshold_)):
        clf.set_params(threshold=thr)
        clf.scope_threshold_, auto = 0.0, clf.scope_threshold_
        report = intent_report(test.intent.tolist(), list(clf.decide(test_scores)), "oos")
        clf.scope_threshold_ = auto
        out[key] = {
            k: report.extra[k] for k in ("in_scope_accuracy", "oos_recall", "oos_precision")
        }
    top = clf.classes_[test_scores.argmax(axis=1)]
    out["ece"] = expected_calibration_error(test_scores.max(axis=1), top == test.intent.to_numpy())[
        0
    ]
    return out


def sentiment(data: Path, encoder) -> dict:
    """The shipped sentiment model on data it never trained on: airline tweets (3 classes),
    SST-2 test (2 classes), TweetEval test (3 classes, macro recall is its metric) and the
    project's own held-out customer-service messages."""
    out = {}
    for name, path in (
        ("airline", data / "sentiment_airline" / "test.csv"),
        ("sst2", data / "sentiment_sst2" / "test.csv"),
        ("tweeteval", data / "sentiment_tweeteval" / "test.csv"),
        ("cs_heldout", REPO / "tests" / "nlp" / "data" / "cs_sentiment_heldout.csv"),
    ):
        frame = pd.read_csv(path)
        labels = frame["label_name"] if "label_name" in frame else frame["label"]  # TweetEval: 0/1/2
        _, proba = encoder.encode_with_sentiment(frame.text.astype(str).tolist())
        report = sentiment_report(labels.astype(str).tolist(), proba)
        out[name] = {
            "accuracy": report.accuracy,
            "macro_f1": report.macro_f1,
            "macro_recall": macro_recall(report),
            "n": len(frame),
        }
    return out


def macro_recall(report) -> float:
    confusion = np.array(report.confusion, dtype=float)
    rows = confusion.sum(axis=1)
    return float(np.mean([confusion[i, i] / rows[i] for i in range(len(rows)) if rows[i]]))


def own_intents(base_dir: Path, models_dir: Path) -> dict:
    """The demo shop's NLU on its held-out customer messages (tests/nlp/data), trained as
    `carebot train` does: intent accuracy, ECE, and out-of-scope messages sent to a fallback."""
    from nlp.pipeline import NLU

    frame = pd.read_csv(REPO / "tests" / "nlp" / "data" / "intent_heldout.csv")
    nlu = NLU.load(models_dir, base_dir=base_dir)
    parsed = nlu.parse_batch(frame.text.tolist())
    scores = nlu.intents.scores(frame.text.tolist())
    inscope = (frame.intent != "out_of_scope").to_numpy()
    names = np.array([p.intent.name for p in parsed])
    top = nlu.intents.classes_[scores.argmax(axis=1)]
    gold = frame.intent.to_numpy()
    ece = expected_calibration_error(scores.max(axis=1)[inscope], (top == gold)[inscope])[0]
    return {
        "accuracy": float((names[inscope] == gold[inscope]).mean()),
        "oos_fallback": float((names[~inscope] == "nlu_fallback").mean()),
        "ece": ece,
        "n": int(inscope.sum()),
        "n_oos": int((~inscope).sum()),
    }


def latency(models_dir: Path, base_dir: Path, data: Path, n: int = 400, repeat: int = 1) -> dict:
    """Per run: parse p50/p99 one message at a time, and parse_batch throughput (batches of
    64). Wall clock and the parsing thread's CPU time (ONNX Runtime runs on that thread with
    one intra-op thread): on a shared machine the CPU figures say what the code costs, the
    wall ones what the neighbours let it have. ``repeat`` runs; the figures are the median
    run's, every run is kept in ``runs``."""
    from nlp.pipeline import NLU

    nlu = NLU.load(models_dir, base_dir=base_dir)
    nlu.cache_size = 0
    texts = pd.read_csv(data / "clinc150" / "test.csv").text.tolist()
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.permutation(len(texts))]
    singles = texts[:n]
    batch = texts[n : n + 2048]
    for t in singles[:20]:
        nlu.parse(t)
    runs = []
    for _ in range(repeat):
        wall, cpu = [], []
        for t in singles:
            started, started_cpu = time.perf_counter(), time.thread_time()
            nlu.parse(t)
            cpu.append(time.thread_time() - started_cpu)
            wall.append(time.perf_counter() - started)
        wall_ms, cpu_ms = np.array(wall) * 1000, np.array(cpu) * 1000
        started, started_cpu = time.perf_counter(), time.thread_time()
        for i in range(0, len(batch), 64):
            nlu.parse_batch(batch[i : i + 64])
        batch_cpu = time.thread_time() - started_cpu
        runs.append({
            "p50_ms": float(np.percentile(wall_ms, 50)),
            "p99_ms": float(np.percentile(wall_ms, 99)),
            "cpu_p50_ms": float(np.percentile(cpu_ms, 50)),
            "batch_msgs_per_s": len(batch) / (time.perf_counter() - started),
            "batch_msgs_per_cpu_s": len(batch) / batch_cpu,
            "load": os.getloadavg()[0],
        })  # fmt: skip
    median = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    return {**median, "runs": runs}


def train_time(base_dir: Path, target: Path, finetune: bool = False) -> tuple[float, int]:
    """Seconds to train the demo shop's NLU (its config.yml pipeline, ~1,000 examples) with
    the base models already built, as `carebot train` does after the first time."""
    import yaml

    from nlp.train import train_project

    config = yaml.safe_load((REPO / "config.yml").read_text(encoding="utf-8"))
    started = time.perf_counter()
    report = train_project(
        [REPO / "data" / "nlu.yml"], config.get("pipeline"), target, base_dir, progress=False,
        finetune=finetune,
    )
    return time.perf_counter() - started, report.examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=REPO / "models",
        help="Base models (encoder, sentiment) [default: models].",
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=None, help="Directory to cache embeddings.")
    parser.add_argument("--only", default="intent,own,sentiment,latency")
    parser.add_argument("--repeat", type=int, default=1,
                        help="Latency runs (each printed; the table shows their median).")
    parser.add_argument("--finetune", type=Path, default=None, metavar="DIR",
                        help="Intent figures with the encoder fine-tuned on each data set "
                             "(`carebot train --finetune`), graphs written to DIR.")
    parser.add_argument("--finetune-epochs", type=int, default=None)
    parser.add_argument("--finetune-lr", type=float, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(","))
    encoder = SentenceEncoder.shared(args.models_dir)
    rows = []
    load = lambda: "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())  # noqa: E731
    finetune = None
    if args.finetune is not None:
        from nlp.finetune import EPOCHS, LEARNING_RATE

        finetune = Finetune(args.models_dir, args.finetune, args.finetune_epochs or EPOCHS,
                            args.finetune_lr or LEARNING_RATE)  # fmt: skip
        print(f"fine-tuning: {finetune.epochs} epochs, learning rate {finetune.learning_rate:g}")
    if "intent" in only:
        b = banking77(args.data, encoder, args.cache, finetune)
        rows.append(("Banking77 test accuracy", "≥ 94.7%",
                     f"{b['accuracy']:.2%} (macro-F1 {b['macro_f1']:.3f}, ECE {b['ece']:.3f}, "
                     f"train {b['fit_s']:.0f} s)", load()))  # fmt: skip
        c = clinc150(args.data, encoder, args.cache, finetune)
        for key, label in (("val", f"thr {c['threshold']:.2f} on val"),
                           ("auto", f"own thr {c['auto_threshold']:.2f}, no CLINC oos")):  # fmt: skip
            r = c[key]
            rows.append(("CLINC150 in-scope acc / OOS recall", "≥ 96% / ≥ 90%",
                         f"{r['in_scope_accuracy']:.2%} / {r['oos_recall']:.2%} ({label}, "
                         f"OOS prec {r['oos_precision']:.2%})", load()))  # fmt: skip
        rows.append(("CLINC150 test ECE / train", "≤ 0.05",
                     f"{c['ece']:.3f} (train {c['fit_s']:.0f} s)", load()))  # fmt: skip
    if "own" in only or "latency" in only:
        tmp = Path(tempfile.mkdtemp(prefix="carebot-nlu-bench-"))
        seconds, examples = train_time(args.models_dir, tmp, finetune is not None)
        how = " --finetune" if finetune is not None else ""
        rows.append((f"demo shop NLU train{how} (base models built)", "≤ 60 s" if not how else "-",
                     f"{seconds:.1f} s ({examples} examples)", load()))  # fmt: skip
        own = own_intents(args.models_dir, tmp)
        rows.append(("own CS intents held-out acc / ECE", "ECE ≤ 0.05",
                     f"{own['accuracy']:.2%} / {own['ece']:.3f} (n={own['n']})", load()))  # fmt: skip
        rows.append(("own out-of-scope messages -> fallback", "-",
                     f"{own['oos_fallback']:.2%} (n={own['n_oos']})", load()))  # fmt: skip
    if "sentiment" in only:
        s = sentiment(args.data, encoder)
        rows.append(("airline 3-class (never trained on)", "≥ 82%",
                     f"{s['airline']['accuracy']:.2%} (macro-F1 {s['airline']['macro_f1']:.3f})",
                     load()))  # fmt: skip
        rows.append(("SST-2 test 2-class", "≥ 90%", f"{s['sst2']['accuracy']:.2%}", load()))
        rows.append(("TweetEval test macro recall", "~73 (anchor)",
                     f"{s['tweeteval']['macro_recall']:.2%} (acc {s['tweeteval']['accuracy']:.2%})",
                     load()))  # fmt: skip
        rows.append(("own CS sentiment held-out 3-class", "-",
                     f"{s['cs_heldout']['accuracy']:.2%} (n={s['cs_heldout']['n']})", load()))  # fmt: skip
    if "latency" in only:
        lat = latency(tmp, args.models_dir, args.data, repeat=args.repeat)
        for i, run in enumerate(lat["runs"], 1):
            print(f"latency run {i}/{args.repeat}: parse p50 {run['p50_ms']:.2f} ms "
                  f"(cpu {run['cpu_p50_ms']:.2f}), p99 {run['p99_ms']:.1f} ms; batch "
                  f"{run['batch_msgs_per_s']:.0f} msg/s ({run['batch_msgs_per_cpu_s']:.0f} per "
                  f"cpu-second); load {run['load']:.1f}")  # fmt: skip
        runs = f"median of {args.repeat} runs" if args.repeat > 1 else "1 run"
        rows.append(("parse p50 / p99", "≤ 3 ms p50",
                     f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} ms (cpu p50 {lat['cpu_p50_ms']:.2f}"
                     f" ms; {runs})", load()))  # fmt: skip
        rows.append(("parse_batch throughput", "≥ 600 msg/s",
                     f"{lat['batch_msgs_per_s']:.0f} msg/s ({lat['batch_msgs_per_cpu_s']:.0f} per "
                     f"cpu-second; {runs})", load()))  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'goal':<15}  {'reached':<70}  machine")
    for name, target, got, where in rows:
        print(f"{name:<{width}}  {target:<15}  {got:<70}  {where}")


if __name__ == "__main__":
    main()
