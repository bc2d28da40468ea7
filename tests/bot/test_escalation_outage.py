"""A customer who asks for a person while PostgreSQL is down ends up in the agents' queue
once it is back, even when the server was killed meanwhile; nobody waits where no agent can
see them. PostgreSQL here is a throwaway cluster of the test's own, stopped and started."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest
import requests
from live_server import PASSWORD, seed_shop, start_server, wait_for
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from throwaway import ThrowawayPostgres

from analytics.store.schema import Escalation

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayPostgres]:
    pg = ThrowawayPostgres()
    pg.start()
    yield pg
    pg.destroy()


@pytest.fixture(scope="module")
def shop_url(cluster) -> str:
    return seed_shop(cluster.create_database("carebot"))


@pytest.fixture
def up(cluster) -> Iterator[ThrowawayPostgres]:
    """The cluster, running again at the end of the test whatever happened."""
    yield cluster
    try:
        cluster.start()
    except RuntimeError:
        pass  # already running


def open_escalations(url: str, conversation_id: str) -> list[str]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Escalation.status).where(
                Escalation.conversation_id == conversation_id,
                Escalation.status.in_(("open", "claimed")))))
    except Exception:  # noqa: BLE001 - the database is still coming back
        return []
    finally:
        engine.dispose()


def ask_for_a_person(server, conversation_id: str) -> requests.Response:
    return requests.post(server.url + "/webhooks/rest/webhook", timeout=60,
                         json={"sender": conversation_id,
                               "message": "I want to talk to a human"})


def test_a_person_asked_for_while_the_database_is_down_is_queued_when_it_is_back(
        up, shop_url, tmp_path):
    server = start_server(shop_url, tmp_path)
    try:
        conversation = f"outage-{uuid.uuid4().hex[:8]}"
        server.say(conversation, "hi")
        up.stop()
        answer = ask_for_a_person(server, conversation)
        assert answer.status_code == 200, answer.text
        assert "person" in " ".join(m.get("text", "") for m in answer.json()).lower()
        assert open_escalations(shop_url, conversation) == []
        up.start()
        assert wait_for(lambda: open_escalations(shop_url, conversation) == ["open"], 30), \
            server.log()[-4000:]
        agent = server.login("alice", PASSWORD)
        claim = agent.post(f"{server.url}/agent/api/conversations/{conversation}/claim",
                           timeout=30)
        assert claim.status_code == 200, claim.text
    finally:
        server.stop()


def test_a_person_asked_for_before_a_kill_9_during_the_outage_is_queued_at_start_up(
        up, shop_url, tmp_path):
    spool = tmp_path / "spool"
    server = start_server(shop_url, tmp_path, CAREBOT_SPOOL_DIR=str(spool))
    conversation = f"outage-{uuid.uuid4().hex[:8]}"
    try:
        server.say(conversation, "hi")
        up.stop()
        assert ask_for_a_person(server, conversation).status_code == 200
    finally:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
    up.start()
    assert open_escalations(shop_url, conversation) == []
    restarted = start_server(shop_url, tmp_path, CAREBOT_SPOOL_DIR=str(spool))
    try:
        # the journal brings the escalated conversation back; the start-up repair queues it
        assert wait_for(lambda: open_escalations(shop_url, conversation) == ["open"], 30), \
            restarted.log()[-4000:]
        # still waiting for the person: the bot only acknowledges (nobody online: the email)
        (waiting,) = restarted.say(conversation, "hello?")
        assert "email" in waiting["text"] or "in the queue" in waiting["text"]
    finally:
        restarted.stop()
