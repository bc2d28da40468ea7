"""Bad input gets a clear 4xx and the server keeps serving."""

from __future__ import annotations

import pytest
import requests
from live_server import PASSWORD, wait_for
from sqlalchemy import text

pytestmark = pytest.mark.slow

WEBHOOK = "/webhooks/rest/webhook"


def error_of(response) -> str:
    return response.json()["error"]


def test_invalid_json_is_a_400_that_says_so(server):
    response = server.post(WEBHOOK, data=b'{"sender": "x", "message": ',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in error_of(response)


def test_a_json_array_is_refused(server):
    response = server.post(WEBHOOK, json=["hello"])
    assert response.status_code == 400
    assert "JSON object" in error_of(response)


def test_a_missing_message_field_is_named(server):
    response = server.post(WEBHOOK, json={"sender": "bad-input-1"})
    assert response.status_code == 400
    assert "missing field 'message'" in error_of(response)


def test_a_message_that_is_not_a_string_is_refused(server):
    response = server.post(WEBHOOK, json={"sender": "bad-input-2", "message": 42})
    assert response.status_code == 400
    assert "must be a string" in error_of(response)


def test_empty_text_is_refused(server):
    response = server.post(WEBHOOK, json={"sender": "bad-input-3", "message": "   "})
    assert response.status_code == 400
    assert "empty" in error_of(response)


def test_a_one_megabyte_message_is_too_large(server):
    response = server.post(WEBHOOK, json={"sender": "bad-input-4", "message": "a" * 1_000_000})
    assert response.status_code == 413
    assert "larger than" in error_of(response) or "longer than" in error_of(response)


def test_a_message_over_the_character_limit_is_too_large(server):
    response = server.post(WEBHOOK, json={"sender": "bad-input-5", "message": "a" * 5000})
    assert response.status_code == 413
    assert "longer than" in error_of(response)


def test_non_utf8_bytes_are_refused(server):
    response = server.post(WEBHOOK, data=b'{"sender": "x", "message": "caf\xe9"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "UTF-8" in error_of(response)


def test_an_invalid_sender_is_refused(server):
    response = server.post(WEBHOOK, json={"sender": "<script>", "message": "hi"})
    assert response.status_code == 400
    assert "sender" in error_of(response)


def test_parse_needs_text(server):
    response = server.post("/model/parse", json={"txt": "hi"})
    assert response.status_code == 400
    assert "missing field 'text'" in error_of(response)


def test_a_missing_sender_is_named(server):
    response = server.post(WEBHOOK, json={"message": "hi"})
    assert response.status_code == 400
    assert "missing field 'sender'" in error_of(response)


def test_a_lone_surrogate_is_refused_and_the_log_keeps_working(server, db):
    response = server.post(WEBHOOK, data=b'{"sender": "bad-input-6", "message": "hi \\ud800"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Unicode" in error_of(response)
    assert server.say("bad-input-7", "hi")
    assert wait_for(lambda: count_user_messages(db, "bad-input-7") == 1)


def count_user_messages(db, sender: str) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM messages WHERE conversation_id = :c "
                                 "AND sender = 'user'"), {"c": sender}).scalar_one()


def test_the_tracker_needs_an_agent_login(server):
    server.say("tracker-1", "hi")
    assert requests.get(server.url + "/conversations/tracker-1/tracker", timeout=10
                        ).status_code == 401
    agent = server.login("alice", PASSWORD)
    tracker = agent.get(server.url + "/conversations/tracker-1/tracker", timeout=10).json()
    assert tracker["sender_id"] == "tracker-1" and tracker["turns"] == 1


def test_an_unknown_conversation_is_a_404(server):
    agent = server.login("alice", PASSWORD)
    response = agent.get(server.url + "/conversations/never-seen-before/tracker", timeout=10)
    assert response.status_code == 404
    assert "never-seen-before" in error_of(response)


def test_a_button_payload_with_an_unknown_intent_goes_through_the_classifier(server):
    parsed = server.post("/model/parse", json={"text": "/no_such_intent"}).json()
    assert parsed["intent"]["name"] != "no_such_intent"


def test_the_server_still_answers_after_bad_input(server):
    server.post(WEBHOOK, data=b"\xff\xfe garbage")
    assert server.say("bad-input-after", "hi")
    parsed = server.post("/model/parse", json={"text": "where is my order A10023?"}).json()
    assert parsed["intent"]["name"] == "order_status"
    assert {"entity": "order_id", "value": "A10023"}.items() <= next(
        e for e in parsed["entities"] if e["entity"] == "order_id").items()


def test_a_session_follows_the_users_table_at_once_when_a_role_is_taken_away(server, db):
    from live_server import add_user

    add_user(server.database_url, "temp-agent", "agent", PASSWORD)
    agent = server.login("temp-agent", PASSWORD)
    url = server.url + "/conversations/never-seen-before/tracker"
    assert agent.get(url, timeout=10).status_code == 404
    with db.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'analyst' WHERE username = 'temp-agent'"))
    assert agent.get(url, timeout=10).status_code == 403


def test_logging_in_from_another_site_is_refused(server):
    response = server.post("/auth/login", json={"username": "alice", "password": PASSWORD},
                           headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert "carebot_session" not in response.cookies
