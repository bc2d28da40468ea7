"""Alert notices reach a real receiver signed (HMAC-SHA256), retried, in order."""

from __future__ import annotations

import hashlib
import hmac
import json

from bot.monitoring.settings import WebhookSettings
from bot.monitoring.webhook import AlertWebhook, verify

SECRET = "a shared webhook secret"


def settings(url: str, **kw) -> WebhookSettings:
    return WebhookSettings(url=url, secret=SECRET, first_retry_seconds=0.05, **kw)


def independent_signature(headers: dict, body: bytes) -> str:
    timestamp = headers["X-Carebot-Timestamp"].encode()
    return "sha256=" + hmac.new(SECRET.encode(), timestamp + b"." + body,
                                hashlib.sha256).hexdigest()


async def test_a_notice_arrives_as_json_with_a_valid_signature(receiver):
    hook = AlertWebhook(settings(receiver.url))
    hook.start()
    outcome = await hook.deliver("a1:raised", {"rule": "queue_wait_long", "state": "raised"})
    await hook.close()
    (got,) = receiver.received
    assert outcome.delivered and outcome.attempts == 1
    assert json.loads(got.body) == {"rule": "queue_wait_long", "state": "raised"}
    assert got.headers["X-Carebot-Signature"] == independent_signature(got.headers, got.body)
    assert verify(SECRET, got.headers, got.body)
    assert not verify("another secret", got.headers, got.body)
    assert not verify(SECRET, got.headers, got.body + b" ")  # tampered
    assert got.headers["X-Carebot-Delivery"] == "a1:raised"


async def test_a_failing_receiver_is_retried_until_it_answers(flaky_receiver):
    hook = AlertWebhook(settings(flaky_receiver.url, attempts=5))
    hook.start()
    outcome = await hook.deliver("a2:raised", {"state": "raised"})
    await hook.close()
    assert outcome.delivered and outcome.attempts == 3 and flaky_receiver.attempts == 3
    assert len(flaky_receiver.received) == 1


async def test_a_refusal_is_not_retried(receiver):
    receiver.status = 400
    hook = AlertWebhook(settings(receiver.url, attempts=5))
    hook.start()
    outcome = await hook.deliver("a3:raised", {"state": "raised"})
    await hook.close()
    assert not outcome.delivered and outcome.attempts == 1 and outcome.status == 400


async def test_an_unreachable_receiver_gives_up_after_the_configured_attempts():
    hook = AlertWebhook(settings("http://127.0.0.1:9/hook", attempts=3, timeout_seconds=1))
    hook.start()
    outcome = await hook.deliver("a4:raised", {"state": "raised"})
    await hook.close()
    assert not outcome.delivered and outcome.attempts == 3 and "Error" in outcome.error


async def test_notices_queued_together_arrive_in_order(flaky_receiver):
    outcomes = []
    hook = AlertWebhook(settings(flaky_receiver.url), on_outcome=outcomes.append)
    hook.start()
    hook.send("a5:raised", {"state": "raised"})
    hook.send("a5:cleared", {"state": "cleared"})
    await hook.close(drain_seconds=10)
    assert [json.loads(r.body)["state"] for r in flaky_receiver.received] == ["raised", "cleared"]
    assert [o.delivery_id for o in outcomes] == ["a5:raised", "a5:cleared"]
