"""Monitoring on a real server: /metrics, abuse signals that hand a conversation over, and
alerts delivered to a webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests
from live_server import PASSWORD, WIDGET_SECRET, start_server, wait_for
from receiver import WebhookReceiver
from servers import METRICS_TOKEN, WEBHOOK_SECRET, metrics, settings_file, value
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.store.schema import Customer, Escalation, Event, Order

pytestmark = pytest.mark.slow

ABUSE = """
abuse:
  lookup_slots: [order_id, email]
  refund_intents: [cancel_order, refund_status, return_item]
  slow_down_seconds: 0.5
"""


@pytest.fixture(scope="module")
def server(seeded_database_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("monitored")
    config = settings_file(directory, ABUSE + "monitoring:\n  alerts: []\n")
    running = start_server(seeded_database_url, directory, CAREBOT_CONFIG=str(config),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET,
                           CAREBOT_METRICS_TOKEN=METRICS_TOKEN)
    yield running
    running.stop()


def test_metrics_are_refused_without_the_token(server):
    assert requests.get(server.url + "/metrics", timeout=10).status_code == 401
    wrong = requests.get(server.url + "/metrics", timeout=10,
                         headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401 and "CAREBOT_METRICS_TOKEN" in wrong.json()["error"]


def test_metrics_count_the_turns_of_a_scripted_conversation(server):
    before = metrics(server)
    conversation = f"metrics-{uuid.uuid4().hex[:8]}"
    script = ["hello", "what can you do?", "/order_status", "thanks, bye"]
    for line in script:
        server.say(conversation, line)
    after = metrics(server)
    turns = value(after, "carebot_turns_total", channel="rest") - \
        value(before, "carebot_turns_total", channel="rest")
    latency = value(after, "carebot_turn_latency_seconds_count", channel="rest") - \
        value(before, "carebot_turn_latency_seconds_count", channel="rest")
    nlu = value(after, "carebot_nlu_latency_seconds_count") - \
        value(before, "carebot_nlu_latency_seconds_count")
    assert turns == len(script) and latency == len(script)
    assert nlu == 3  # the button payload skips the NLU
    assert ("carebot_queue_length", ()) in after and ("carebot_log_backlog", ()) in after


def test_enumerating_order_numbers_is_slowed_then_handed_over_with_the_reason(server, db):
    with Session(db) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        others = session.scalars(select(Order.order_number).where(
            Order.customer_id != customer.id).order_by(Order.id).limit(20)).all()
    conversation = f"enum-{uuid.uuid4().hex[:8]}"
    server.say(conversation, f"hi, my email is {customer.email}")
    timings, answered = [], []
    for number in others:
        started = time.monotonic()
        replies = server.say(conversation, f"where is my order {number}")
        timings.append(time.monotonic() - started)
        # after the hand-over the bot only acknowledges that the message reached the queue
        answered.append(any("rder" in r.get("text", "") for r in replies))
    tracker = server.tracker(conversation)
    lookups = [e for e in tracker["events"]
               if e.get("event") == "action" and e.get("name") == "action_order_status"]
    assert tracker["status"] == "escalated"
    assert len(lookups) <= 5, "the bot kept looking orders up"
    assert not any(answered[6:]), "the bot kept answering orders after the hand-over"
    assert max(timings) >= 0.5, "the bot never slowed down"
    with Session(db) as session:
        escalation = session.scalars(select(Escalation).where(
            Escalation.conversation_id == conversation)).one()
        signals = session.scalars(select(Event).where(
            Event.conversation_id == conversation, Event.type == "abuse_signal")).all()
    assert escalation.reason == "suspected_abuse"
    assert signals[-1].data["level"] == "hand_over"
    agent = server.login("alice", PASSWORD)
    view = agent.get(f"{server.url}/agent/api/conversations/{conversation}", timeout=30).json()
    assert view["risk"]["level"] == "hand_over"
    assert any("matched no order" in reason for reason in view["risk"]["reasons"])
    queue = agent.get(f"{server.url}/agent/api/queue", timeout=30).json()["items"]
    assert any(i["conversation_id"] == conversation and i["reason"] == "suspected_abuse"
               for i in queue)


def test_a_customer_asking_about_their_own_orders_is_not_held_up(server, db):
    with Session(db) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        mine = session.scalars(select(Order.order_number).where(
            Order.customer_id == customer.id).order_by(Order.id).limit(3)).all()
    conversation = f"honest-{uuid.uuid4().hex[:8]}"
    server.say(conversation, f"hi, my email is {customer.email}")
    for number in mine:
        time.sleep(1.5)  # a person reads the answer first
        assert server.say(conversation, f"where is my order {number}")
    assert server.tracker(conversation)["status"] == "bot"


# -- alerts ------------------------------------------------------------------------------------


@pytest.fixture
def alerting_server(seeded_database_url, tmp_path):
    hook = WebhookReceiver(fail_first=1)  # the first delivery fails: it must be retried
    config = settings_file(tmp_path, ABUSE + f"""
monitoring:
  evaluate_seconds: 0.5
  webhook: {{url: "{hook.url}", first_retry_seconds: 0.2}}
  alerts:
    - name: customers_waiting
      metric: queue_length
      above: 0
      message: Customers are waiting for a person
""")
    running = start_server(seeded_database_url, tmp_path, CAREBOT_CONFIG=str(config),
                           CAREBOT_WIDGET_SECRET=WIDGET_SECRET,
                           CAREBOT_ALERT_WEBHOOK_SECRET=WEBHOOK_SECRET)
    yield running, hook
    running.stop()
    hook.close()


def notices(hook: WebhookReceiver) -> list[dict]:
    return [json.loads(r.body) for r in hook.received]


def signed(received) -> bool:
    timestamp = received.headers["X-Carebot-Timestamp"].encode()
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), timestamp + b"." + received.body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["X-Carebot-Signature"], expected)


def test_an_alert_fires_reaches_the_webhook_signed_and_clears(alerting_server, capsys):
    server, hook = alerting_server
    agent = server.login("alice", PASSWORD)
    # the shared database may hold escalations of other tests: take them out of the queue
    for item in agent.get(server.url + "/agent/api/queue", timeout=30).json()["items"]:
        agent.post(f"{server.url}/agent/api/conversations/{item['conversation_id']}/claim",
                   timeout=30)
    assert wait_for(lambda: not any(n["state"] == "raised" and not any(
        m["alert_id"] == n["alert_id"] and m["state"] == "cleared" for m in notices(hook))
        for n in notices(hook)), timeout=15)
    hook.received.clear()
    conversation = f"alert-{uuid.uuid4().hex[:8]}"
    asked = time.time()
    server.say(conversation, "/human_agent")
    raised = wait_for(lambda: [r for r in hook.received
                               if json.loads(r.body)["state"] == "raised"], timeout=15)
    assert raised, "no alert reached the webhook"
    latency = raised[0].at - asked
    body = json.loads(raised[0].body)
    assert body["rule"] == "customers_waiting" and body["snapshot"]["queue_length"] >= 1
    assert signed(raised[0]) and hook.attempts >= 2  # retried after the failure
    shown = agent.get(server.url + "/api/live", timeout=30).json()
    assert [a["rule"] for a in shown["alerts"]] == ["customers_waiting"]

    claimed = agent.post(f"{server.url}/agent/api/conversations/{conversation}/claim",
                         timeout=30)
    assert claimed.status_code == 200
    cleared = wait_for(lambda: [r for r in hook.received
                                if json.loads(r.body)["state"] == "cleared"], timeout=15)
    assert cleared and signed(cleared[0])
    assert json.loads(cleared[0].body)["alert_id"] == body["alert_id"]
    analyst = server.login("ann", PASSWORD)
    (stored,) = [a for a in analyst.get(server.url + "/api/alerts", timeout=30).json()["alerts"]
                 if a["alert_id"] == body["alert_id"]]
    assert stored["cleared_at"] is not None
    with capsys.disabled():
        print(f"\nalert latency (customer message -> signed notice at the webhook): {latency:.2f} s")
    assert latency < 5
