"""`carebot nlu evaluate` and `carebot sentiment evaluate`: how well the models do on
the user's own labelled data."""

from __future__ import annotations

from pathlib import Path

import click

from bot.config import Config


def _echo_report(report, header: str) -> None:
    click.echo(header)
    click.echo(f"  examples   {report.examples}")
    click.echo(f"  accuracy   {report.accuracy:.4f}")
    click.echo(f"  macro-F1   {report.macro_f1:.4f}")
    for key in ("in_scope_accuracy", "oos_recall", "oos_precision", "threshold", "ece"):
        if report.extra.get(key) is not None:
            click.echo(f"  {key.replace('_', ' '):<10} {report.extra[key]}")
    worst = report.extra.get("worst_confused") or []
    if worst:
        click.echo("  worst-confused (gold -> predicted: count)")
        for row in worst:
            click.echo(f"    {row['gold']} -> {row['predicted']}: {row['count']}")


def _write(report, out_json: Path | None, out_png: Path | None, reliability=None) -> None:
    report.write(out_json, out_png)
    if reliability and report.extra.get("reliability"):
        from nlp.evaluate import reliability_png

        reliability_png(report.extra["reliability"], reliability, report.extra["ece"])
    for path in (out_json, out_png, reliability):
        if path:
            click.echo(f"wrote {path}")


@click.group("nlu")
def nlu_group() -> None:
    """Intent classifier tools."""


@nlu_group.command("evaluate")
@click.option(
    "--train",
    "train_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training data: an nlu.yml or a CSV [default: the bot's data/nlu.yml].",
)
@click.option(
    "--test",
    "test_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Test CSV; without it, k-fold cross-validation on the training data.",
)
@click.option(
    "--val",
    "val_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Validation CSV to choose the fallback threshold on (needs --oos-label).",
)
@click.option("--folds", default=5, show_default=True, help="Folds for cross-validation.")
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="intent", show_default=True)
@click.option(
    "--oos-label",
    default=None,
    help="Label of out-of-scope rows (e.g. oos): left out of training, and counted "
    "right when the classifier answers nlu_fallback.",
)
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Fallback confidence threshold [default: chosen on --val, else 0.3].",
)
@click.option(
    "--report",
    "out_json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("nlu_report.json"),
    show_default=True,
)
@click.option(
    "--confusion",
    "out_png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("nlu_confusion.png"),
    show_default=True,
)
@click.option(
    "--reliability",
    "out_reliability",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("nlu_reliability.png"),
    show_default=True,
    help="Reliability diagram of the confidences (their ECE is in the report).",
)
@click.pass_obj
def nlu_evaluate(
    config: Config,
    train_file,
    test_file,
    val_file,
    folds,
    text_column,
    label_column,
    oos_label,
    threshold,
    out_json,
    out_png,
    out_reliability,
) -> None:
    """Train the intent classifier and measure it on held-out data (accuracy, confusions,
    and how well its confidences are calibrated)."""
    from nlp.components import INTENT_C
    from nlp.encoder import SentenceEncoder
    from nlp.evaluate import (
        EvaluationDataError,
        add_calibration,
        choose_threshold,
        cross_validate_intents,
        intent_report,
        read_csv_columns,
        read_training_file,
    )
    from nlp.intent import IntentClassifier

    try:
        texts, labels = read_training_file(train_file or config.project_dir / "data" / "nlu.yml",
                                           text_column, label_column)
        if oos_label is not None:
            kept = [(t, lab) for t, lab in zip(texts, labels, strict=True) if lab != oos_label]
            texts, labels = [t for t, _ in kept], [lab for _, lab in kept]
        encoder = SentenceEncoder.shared(config.base_models_dir)

        def make(thr: float = 0.3) -> IntentClassifier:
            return IntentClassifier(encoder=encoder, C=INTENT_C, threshold=thr)

        click.echo(f"training on {len(texts)} examples of {len(set(labels))} intents")
        if test_file is None:
            predicted, confidence = cross_validate_intents(
                texts, labels, folds, lambda: make(threshold or 0.3), confidences=True
            )
            gold = labels
            header = f"{folds}-fold cross-validation"
        else:
            clf = make().fit(texts, labels)
            if threshold is None and val_file is not None:
                if oos_label is None:
                    raise click.UsageError("--val chooses the OOS threshold: give --oos-label")
                v_texts, v_labels = read_csv_columns(val_file, text_column, label_column)
                threshold = choose_threshold(clf.scores(v_texts), clf.classes_, v_labels, oos_label)
            clf.set_params(threshold=0.3 if threshold is None else threshold)
            test_texts, gold = read_csv_columns(test_file, text_column, label_column)
            scores = clf.scores(test_texts)
            predicted, confidence = list(clf.decide(scores)), scores.max(axis=1)
            header = f"test set {test_file}"
        report = intent_report(gold, predicted, oos_label)
        report.extra["threshold"] = threshold if threshold is not None else 0.3
        # Calibration of the top intent's confidence on the in-scope rows: is it right as
        # often as it says? (A fallback counts as a wrong answer.)
        inscope = [g != oos_label for g in gold]
        right = [p == g for p, g in zip(predicted, gold, strict=True)]
        add_calibration(report, [c for c, i in zip(confidence, inscope, strict=True) if i],
                        [r for r, i in zip(right, inscope, strict=True) if i])  # fmt: skip
    except EvaluationDataError as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_report(report, header)
    _write(report, out_json, out_png, out_reliability)


@click.group("sentiment")
def sentiment_group() -> None:
    """Sentiment model tools."""


@sentiment_group.command("evaluate")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--text-column", default="text", show_default=True)
@click.option(
    "--label-column",
    default="label",
    show_default=True,
    help="negative/neutral/positive (or 0/1 for two classes).",
)
@click.option(
    "--report",
    "out_json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("sentiment_report.json"),
    show_default=True,
)
@click.option(
    "--confusion",
    "out_png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("sentiment_confusion.png"),
    show_default=True,
)
@click.pass_obj
def sentiment_evaluate(
    config: Config, csv_file, text_column, label_column, out_json, out_png
) -> None:
    """Measure the trained sentiment model (CAREBOT_MODELS_DIR) on a labelled CSV."""
    from nlp.encoder import SentenceEncoder
    from nlp.evaluate import EvaluationDataError, read_csv_columns, sentiment_report

    encoder = SentenceEncoder.shared(config.base_models_dir)
    if not encoder.has_sentiment:
        raise click.ClickException(
            f"no trained sentiment model in {config.models_dir}; run `carebot train` first"
        )
    try:
        texts, gold = read_csv_columns(csv_file, text_column, label_column)
        _, proba = encoder.encode_with_sentiment(texts)
        report = sentiment_report(gold, proba)
    except EvaluationDataError as exc:
        raise click.ClickException(str(exc)) from exc
    _echo_report(report, f"sentiment on {csv_file}")
    _write(report, out_json, out_png)
