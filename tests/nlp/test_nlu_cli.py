"""`carebot nlu evaluate` and `carebot sentiment evaluate` on small data."""

import csv
import json

import pytest
from click.testing import CliRunner

from bot.cli.main import main

HELDOUT = "tests/nlp/data/cs_sentiment_heldout.csv"


def run(args, tmp_path, env=None):
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result


def write_csv(path, rows, header=("text", "intent")):
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def test_cross_validation_on_nlu_yml_prints_figures_and_writes_report_and_png(nlu_yaml, tmp_path):
    out, png = tmp_path / "r.json", tmp_path / "c.png"
    result = run(
        [
            "nlu",
            "evaluate",
            "--train",
            str(nlu_yaml),
            "--folds",
            "2",
            "--report",
            str(out),
            "--confusion",
            str(png),
            "--reliability",
            str(tmp_path / "rel.png"),
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "macro-F1" in result.output
    report = json.loads(out.read_text())
    assert report["examples"] == 18 and 0.0 <= report["accuracy"] <= 1.0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_test_csv_with_out_of_scope_rows_reports_oos_recall(nlu_yaml, tmp_path):
    test = write_csv(
        tmp_path / "test.csv",
        [
            ("hello!", "greet"),
            ("where's my parcel", "order_status"),
            ("I'd like to send these back", "return_item"),
            ("what's the weather on mars", "oos"),
        ],
    )
    out = tmp_path / "r.json"
    result = run(
        [
            "nlu",
            "evaluate",
            "--train",
            str(nlu_yaml),
            "--test",
            str(test),
            "--oos-label",
            "oos",
            "--threshold",
            "0.5",
            "--report",
            str(out),
            "--confusion",
            str(tmp_path / "c.png"),
            "--reliability",
            str(tmp_path / "rel.png"),
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["extra"]["oos_recall"] is not None
    assert "in scope accuracy" in result.output


def test_evaluation_reports_calibration_and_draws_a_reliability_diagram(nlu_yaml, tmp_path):
    out, reliability = tmp_path / "r.json", tmp_path / "rel.png"
    args = ["nlu", "evaluate", "--train", str(nlu_yaml), "--folds", "2", "--report", str(out),
            "--confusion", str(tmp_path / "c.png"), "--reliability", str(reliability)]  # fmt: skip
    result = run(args, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert 0.0 <= report["extra"]["ece"] <= 1.0 and "ece" in result.output
    assert sum(b["count"] for b in report["extra"]["reliability"]) == report["examples"]
    assert reliability.read_bytes()[:4] == b"\x89PNG"


def test_a_missing_column_is_an_error_naming_the_flag(nlu_yaml, tmp_path):
    test = write_csv(tmp_path / "test.csv", [("hi", "greet")], header=("utterance", "intent"))
    result = CliRunner().invoke(
        main, ["nlu", "evaluate", "--train", str(nlu_yaml), "--test", str(test)]
    )
    assert result.exit_code != 0
    assert "--text-column" in result.output


def test_sentiment_evaluate_on_a_labelled_csv(models_dir, tmp_path):
    if not (models_dir / "sentiment" / "branch.safetensors").exists():
        pytest.skip(f"no trained sentiment model in {models_dir}; run `carebot train`")
    out = tmp_path / "s.json"
    result = run(
        [
            "sentiment",
            "evaluate",
            HELDOUT,
            "--report",
            str(out),
            "--confusion",
            str(tmp_path / "s.png"),
        ],
        tmp_path,
        env={"CAREBOT_MODELS_DIR": str(models_dir), "CAREBOT_BASE_MODELS_DIR": str(models_dir)},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["labels"] == ["negative", "neutral", "positive"]
