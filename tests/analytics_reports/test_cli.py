"""`carebot report`, `carebot analytics retrain` and `carebot simulate` from the command line."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from known_data import load_known_data
from report_databases import migrated_engine

from analytics.demo.synthetic import generate, insert_history
from analytics.store.rollups import rebuild_facts
from bot.cli.analytics import add_analytics_commands
from bot.cli.main import main

REPO = Path(__file__).resolve().parents[2]
NLU_MODELS = Path(os.environ.get("CAREBOT_MODELS_DIR", REPO / "models"))

if "report" not in main.commands:  # until bot/cli/main.py registers them itself
    add_analytics_commands(main)


@pytest.fixture(scope="module")
def known_url(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("cli")
    with migrated_engine("sqlite", directory) as engine:
        load_known_data(engine)
        rebuild_facts(engine, progress=False)
        return str(engine.url)


def carebot(url: str, *args: str, models_dir: Path | None = None):
    env = {"CAREBOT_DATABASE_URL": url, "CAREBOT_MODELS_DIR": str(models_dir or "models")}
    return CliRunner().invoke(main, ["--log-level", "WARNING", *args], env=env,
                              catch_exceptions=False)


def test_report_prints_a_readable_table(known_url):
    result = carebot(known_url, "report", "metrics")
    assert result.exit_code == 0, result.output
    assert "Containment rate" in result.output and "Fallback rate" in result.output


def test_report_as_json_carries_values_and_filters(known_url):
    result = carebot(known_url, "report", "outcomes", "--format", "json", "--channel", "rest")
    body = json.loads(result.output)
    assert body["filters"] == {"channel": "rest"}
    assert sum(r["conversations"] for r in body["rows"]) == 2


def test_report_as_csv(known_url):
    result = carebot(known_url, "report", "intents", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert sum(int(r["messages"]) for r in rows) == 12


def test_the_message_log_exports_from_the_command_line(known_url, tmp_path):
    out = tmp_path / "messages.csv"
    result = carebot(known_url, "report", "messages", "--format", "csv", "--intent",
                     "complaint", "-o", str(out))
    assert result.exit_code == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["conversation_id"] for r in rows} == {"c2"}


def test_a_bad_filter_is_a_usage_error(known_url):
    result = carebot(known_url, "report", "metrics", "--from", "2026-12-01", "--to",
                     "2026-11-01")
    assert result.exit_code == 2 and "date range is empty" in result.output


def test_retrain_reports_cross_validated_scores_and_saves_model_cards(tmp_path):
    with migrated_engine("sqlite", tmp_path) as engine:
        for block in generate(400, seed=4):
            insert_history(engine, block)
        url = str(engine.url)
    result = carebot(url, "analytics", "retrain", models_dir=tmp_path / "models")
    assert result.exit_code == 0, result.output
    assert "cross-validated linear R²" in result.output and "MAE" in result.output
    card = json.loads((tmp_path / "models" / "analytics" / "satisfaction.json").read_text())
    assert card["n_rows"] > 50 and card["fitted_at"]


@pytest.mark.slow
def test_simulate_drives_the_real_bot_and_stores_rated_conversations(tmp_path):
    if not (NLU_MODELS / "metadata.json").exists():
        pytest.skip(f"no trained NLU models in {NLU_MODELS}; run `carebot train`")
    from sqlalchemy import func, select

    from analytics.demo.seed import seed
    from analytics.store.schema import Conversation, ConversationFacts, Message

    with migrated_engine("sqlite", tmp_path) as engine:
        seed(engine, progress=False)
        result = carebot(str(engine.url), "simulate", "--conversations", "12", "--seed", "3",
                         "--days", "10", "--no-progress", models_dir=NLU_MODELS)
        assert result.exit_code == 0, result.output
        assert "Simulated 12 conversations" in result.output
        with engine.connect() as conn:
            channels = dict(conn.execute(select(Conversation.channel, func.count())
                                         .group_by(Conversation.channel)).all())
            facts = conn.execute(select(func.count()).select_from(ConversationFacts)).scalar()
            senders = set(conn.execute(select(Message.sender).distinct()).scalars())
            oldest = conn.execute(select(func.min(Conversation.started_at))).scalar()
    assert sum(channels.values()) == 12 and "websocket" in channels
    assert facts == 12  # the conversation log kept the report rollups current
    assert {"user", "bot"} <= senders
    assert oldest is not None  # spread over the past days
