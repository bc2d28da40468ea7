"""The NLU inbox: the worst-understood customer messages, grouped by the real sentence
encoder; labels written as Rasa NLU YAML the bot-file loader reads; after retraining, the
labelled messages parse as the intent they were given."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from dashboard_app import PASSWORD, add_users, dashboard_app
from known_data import load_known_data
from report_databases import migrated_engine
from sqlalchemy import insert, select

from analytics.insights.nlu_inbox import (
    InboxError,
    inbox,
    label_messages,
    plan_export,
    worst_understood,
    write_export,
)
from analytics.store.schema import Conversation, Message, NluReviewLabel
from nlp.encoder import SentenceEncoder
from nlp.training_data import load_nlu_files

REPO = Path(__file__).resolve().parents[2]
# The install's base models (the encoder serving uses), when `carebot train` has built them.
BASE = REPO / "models" if (REPO / "models" / "nlu.int8.onnx").exists() else None
PARCEL = ["where is my parcel", "my parcel has not arrived yet", "where is my package"]
CANCEL = ["i want to cancel my subscription", "please cancel my subscription",
          "how do i cancel the subscription"]
DOMAIN = """version: "3.1"
intents:
  - greet
  - goodbye
  - track_parcel
  - cancel_subscription
"""
NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
    - hey there
    - good morning
    - hiya
- intent: goodbye
  examples: |
    - bye
    - goodbye
    - see you later
    - have a nice day
    - cya
- intent: track_parcel
  examples: |
    - tracking number for shipment
    - delivery status
    - shipment tracking
    - track the delivery
    - when will the courier come
- intent: cancel_subscription
  examples: |
    - stop my plan
    - end membership
    - terminate my plan
    - close my membership
    - stop billing me monthly
"""


@pytest.fixture(scope="module")
def embed():
    return SentenceEncoder.shared(BASE).encode


@pytest.fixture
def engine(tmp_path):
    """The known conversations plus simulated fallbacks: three about a parcel, three about
    cancelling, one joke, and one message with redacted personal data."""
    with migrated_engine("sqlite", tmp_path) as engine:
        load_known_data(engine)
        start = datetime(2026, 11, 20, 9)
        texts = [*PARCEL, *CANCEL, "tell me a joke", "my email is [EMAIL] where is my parcel"]
        with engine.begin() as conn:
            conn.execute(insert(Conversation), [{
                "id": "sim", "channel": "rest", "customer_id": None, "status": "bot",
                "started_at": start, "last_active_at": start, "ended_at": None, "turns": 8,
                "fallback_count": 8, "escalated": False, "assigned_agent_id": None,
                "csat_rating": None, "csat_comment": None, "tracker_state": {}}])
            conn.execute(insert(Message), [{
                "id": str(uuid.uuid4()), "conversation_id": "sim", "sender": "user",
                "text": text, "raw_text": None, "intent": "nlu_fallback", "confidence": 0.2,
                "entities": [], "sentiment_label": "neutral", "sentiment_score": 0.0,
                "data": {}, "created_at": start + timedelta(minutes=i)}
                for i, text in enumerate(texts)])
        yield engine


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "bot"
    (root / "data").mkdir(parents=True)
    (root / "domain.yml").write_text(DOMAIN)
    (root / "data" / "nlu.yml").write_text(NLU)
    return root


def test_fallbacks_low_confidence_and_the_message_before_a_handoff_are_in_the_inbox(engine):
    found = {m.text: m.why for m in worst_understood(engine)}
    assert found["ugh whatever"] == "fallback"  # c3
    # the last customer message before each hand-off (c2 at 10:01, c4 at 08:05)
    assert found["this is the worst service ever"] == "before_handoff"
    assert found["the shoes I sent back three weeks ago!!"] == "before_handoff"
    assert found["where is my parcel"] == "fallback"
    assert "hello" not in found and "Sorry, I didn't get that." not in found  # bot message
    assert {m.text for m in worst_understood(engine, threshold=0.95)} >= {"hello"}


def test_simulated_fallbacks_are_grouped_by_meaning_with_counts(engine, embed):
    groups = inbox(engine, embed)
    by_text = {m.text: g for g in groups for m in g.messages}
    assert by_text[PARCEL[0]] is by_text[PARCEL[1]] is by_text[PARCEL[2]]
    assert by_text[CANCEL[0]] is by_text[CANCEL[1]] is by_text[CANCEL[2]]
    assert by_text[PARCEL[0]] is not by_text[CANCEL[0]]
    assert by_text["tell me a joke"] is not by_text[PARCEL[0]]
    assert groups[0].count >= 3 and [g.count for g in groups] == sorted(
        (g.count for g in groups), reverse=True)
    # keys are stable: grouping again gives the same keys
    assert [g.key for g in inbox(engine, embed)] == [g.key for g in groups]


def test_labelled_messages_leave_the_inbox(engine, embed):
    parcel = next(g for g in inbox(engine, embed) if PARCEL[0] in [m.text for m in g.messages])
    ids = [m.message_id for m in parcel.messages if m.text in PARCEL]
    assert label_messages(engine, ids, "track_parcel", by="root") == 3
    assert label_messages(engine, ids, "greet", by="root") == 0  # labelled once
    left = {m.text for m in worst_understood(engine)}
    assert not left & set(PARCEL)
    with engine.connect() as conn:
        rows = conn.execute(select(NluReviewLabel.intent, NluReviewLabel.predicted_intent,
                                   NluReviewLabel.labelled_by)).all()
    assert set(rows) == {("track_parcel", "nlu_fallback", "root")}


def test_a_label_must_be_an_intent_of_the_project(engine):
    with pytest.raises(InboxError, match="no intent 'track_parsel'"):
        label_messages(engine, ["x"], "track_parsel", by="root", known_intents=["track_parcel"])
    with pytest.raises(InboxError, match="not an intent name"):
        label_messages(engine, ["x"], "drop table; --", by="root")


def _label_groups(engine, embed) -> None:
    by_text = {m.text: m.message_id for g in inbox(engine, embed) for m in g.messages}
    label_messages(engine, [by_text[t] for t in PARCEL], "track_parcel", by="root")
    label_messages(engine, [by_text[t] for t in CANCEL], "cancel_subscription", by="root")
    label_messages(engine, [by_text["tell me a joke"]], None, by="root")  # out of scope
    label_messages(engine, [by_text["my email is [EMAIL] where is my parcel"]], "track_parcel",
                   by="root")


def test_export_shows_a_diff_then_writes_yaml_the_bot_loader_reads(engine, embed, project):
    _label_groups(engine, embed)
    intents = ["greet", "goodbye", "track_parcel", "cancel_subscription"]
    plan = plan_export(engine, project, intents)
    assert not (project / "data" / "nlu_inbox.yml").exists()  # planning writes nothing
    assert "+    - where is my parcel" in plan.diff and "+- intent: track_parcel" in plan.diff
    assert plan.skipped == {"out of scope (the project has no out_of_scope intent)": 1,
                            "holds redacted personal data": 1}
    write_export(engine, plan)
    data = load_nlu_files([project / "data" / "nlu.yml", project / "data" / "nlu_inbox.yml"])
    examples = {(e.text, e.intent) for e in data.examples}
    assert {(t, "track_parcel") for t in PARCEL} <= examples
    assert {(t, "cancel_subscription") for t in CANCEL} <= examples
    assert not any("[EMAIL]" in e.text for e in data.examples)
    again = plan_export(engine, project, intents)
    assert not again.changes and again.message_ids == []  # each label is exported once


def test_a_new_export_merges_into_the_file_without_duplicates(engine, embed, project):
    path = project / "data" / "nlu_inbox.yml"
    path.write_text('version: "3.1"\nnlu:\n- intent: track_parcel\n  examples: |\n'
                    "    - where is my parcel\n    - parcel status please\n")
    _label_groups(engine, embed)
    write_export(engine, plan_export(engine, project, ["track_parcel", "cancel_subscription"]))
    texts = [e.text for e in load_nlu_files([path]).examples if e.intent == "track_parcel"]
    assert texts.count("where is my parcel") == 1 and "parcel status please" in texts


def test_a_hand_edited_inbox_file_that_is_not_yaml_is_reported_not_overwritten(engine, project):
    path = project / "data" / "nlu_inbox.yml"
    path.write_text("nlu: [unclosed\n")
    with pytest.raises(InboxError, match="not valid YAML"):
        plan_export(engine, project, ["track_parcel"])
    assert path.read_text() == "nlu: [unclosed\n"


@pytest.mark.slow
@pytest.mark.skipif(BASE is None, reason="no base models in models/; run `carebot train`")
def test_after_retraining_the_labelled_messages_parse_as_their_new_intent(engine, embed,
                                                                          project, tmp_path):
    from nlp.pipeline import NLU
    from nlp.train import train_project

    files = [project / "data" / "nlu.yml"]
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    train_project(files, None, before_dir, BASE, progress=False)
    before = NLU.load(before_dir, base_dir=BASE)
    missed = [t for t in [*PARCEL, *CANCEL] if before.parse(t).intent.name not in (
        "track_parcel", "cancel_subscription")]
    _label_groups(engine, embed)
    write_export(engine, plan_export(engine, project, ["greet", "goodbye", "track_parcel",
                                                       "cancel_subscription"]))
    train_project([*files, project / "data" / "nlu_inbox.yml"], None, after_dir, BASE,
                  progress=False)
    after = NLU.load(after_dir, base_dir=BASE)
    for text in PARCEL:
        assert after.parse(text).intent.name == "track_parcel", text
    for text in CANCEL:
        assert after.parse(text).intent.name == "cancel_subscription", text
    print(f"before labelling {len(missed)} of 6 missed; after: 0")


# -- the web API and the terminal -------------------------------------------------------


async def _client(engine, project, tmp_path) -> TestClient:
    app = dashboard_app(engine, add_users(engine), tmp_path / "models", project_dir=project,
                        base_models_dir=BASE or tmp_path / "none")
    return TestClient(TestServer(app))


async def _log_in(client, username):
    assert (await client.post("/auth/login", json={"username": username,
                                                   "password": PASSWORD})).status == 200


async def test_analysts_read_the_inbox_and_only_the_admin_labels_and_exports(engine, project,
                                                                              tmp_path):
    async with await _client(engine, project, tmp_path) as client:
        await _log_in(client, "ana")
        body = await (await client.get("/api/nlu-inbox")).json()
        assert body["can_label"] is False and body["messages"] >= 8
        assert "track_parcel" in body["intents"]
        group = next(g for g in body["groups"]
                     if PARCEL[0] in [m["text"] for m in g["messages"]])
        ids = [m["message_id"] for m in group["messages"] if m["text"] in PARCEL]
        refused = await client.post("/api/nlu-inbox/label",
                                    json={"message_ids": ids, "intent": "track_parcel"})
        assert refused.status == 403
        await _log_in(client, "root")
        wrong = await client.post("/api/nlu-inbox/label",
                                  json={"message_ids": ids, "intent": "nope"})
        assert wrong.status == 400 and "no intent 'nope'" in (await wrong.json())["error"]
        ok = await client.post("/api/nlu-inbox/label",
                               json={"message_ids": ids, "intent": "track_parcel"})
        assert (await ok.json())["labelled"] == len(ids)
        preview = await (await client.get("/api/nlu-inbox/export")).json()
        assert preview["written"] is False and "+    - where is my parcel" in preview["diff"]
        assert not (project / "data" / "nlu_inbox.yml").exists()
        written = await (await client.post("/api/nlu-inbox/export")).json()
        assert written["written"] is True
        after = await (await client.get("/api/nlu-inbox")).json()
    assert not {m["text"] for g in after["groups"] for m in g["messages"]} & set(PARCEL)
    assert "where is my parcel" in (project / "data" / "nlu_inbox.yml").read_text()


def test_the_terminal_lists_labels_and_exports(engine, project, tmp_path):
    from bot.cli.main import main

    env = {"CAREBOT_DATABASE_URL": str(engine.url), "CAREBOT_PROJECT_DIR": str(project),
           "CAREBOT_MODELS_DIR": str(tmp_path / "models"),
           "CAREBOT_BASE_MODELS_DIR": str(BASE or tmp_path / "none")}

    def carebot(*args: str):
        return CliRunner().invoke(main, ["--log-level", "WARNING", "nlu", "inbox", *args],
                                  env=env)

    listed = carebot("--json")
    assert listed.exit_code == 0, listed.output
    groups = json.loads(listed.output)
    key = next(g["key"] for g in groups if CANCEL[0] in [m["text"] for m in g["messages"]])
    labelled = carebot("label", key, "cancel_subscription")
    assert labelled.exit_code == 0 and "Labelled 3 messages" in labelled.output, labelled.output
    shown = carebot("export")
    assert "+    - please cancel my subscription" in shown.output
    assert not (project / "data" / "nlu_inbox.yml").exists()
    wrote = carebot("export", "--write")
    assert wrote.exit_code == 0 and "Wrote 3 examples" in wrote.output, wrote.output
    missing = carebot("label", "nosuchkey", "greet")
    assert missing.exit_code != 0 and "No group 'nosuchkey'" in missing.output
