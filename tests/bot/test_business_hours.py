"""carebot.yml ``business_hours``: outside them a handoff is answered as "nobody online" (leave
an email, the conversation stays queued) and says when the team is back, even with an agent's
console open; inside them, or without the setting, the queue's place and wait as before.
Real servers on a port, real SQLite, an agent's live console socket."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from live_server import PASSWORD, REPO, start_server, wait_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.store.schema import Escalation
from bot.config import Config, SettingsError
from bot.console.hours import BusinessHours
from nlp.yamlfile import BotFileError

pytestmark = pytest.mark.slow

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Open one hour on the weekday three days from now (UTC): certainly closed while the test runs.
OPEN_DAY = (datetime.now(UTC) + timedelta(days=3)).weekday()
CLOSED_NOW = (f"business_hours:\n  timezone: UTC\n"
              f"  hours: {{{DAY_NAMES[OPEN_DAY][:3].lower()}: \"09:00-10:00\"}}\n")
ALWAYS_OPEN = "business_hours:\n  timezone: Europe/London\n  hours: {mon-sun: \"00:00-24:00\"}\n"


def settings_file(directory: Path, extra: str) -> Path:
    path = directory / "carebot.yml"
    path.write_text((REPO / "carebot.yml").read_text() + "\n" + extra)
    return path


def texts(replies: list[dict]) -> str:
    return " ".join(r.get("text", "") for r in replies)


async def agent_online(server, username: str = "alice"):
    http = aiohttp.ClientSession()
    async with http.post(server.url + "/auth/login",
                         json={"username": username, "password": PASSWORD}) as response:
        assert response.status == 200
        token = response.cookies["carebot_session"].value
    ws = await http.ws_connect(server.url + "/agent/ws",
                               headers={"Authorization": f"Bearer {token}"})
    assert (await ws.receive_json(timeout=15))["type"] == "hello"
    await asyncio.sleep(0.2)
    return http, ws


@pytest.fixture(scope="module")
def closed_server(seeded_database_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("closed")
    running = start_server(seeded_database_url, directory,
                           CAREBOT_CONFIG=str(settings_file(directory, CLOSED_NOW)))
    yield running
    running.stop()


async def test_outside_business_hours_a_handoff_says_when_the_team_is_back(closed_server, db):
    http, ws = await agent_online(closed_server)  # an agent online changes nothing: closed
    try:
        conversation_id = f"hours-{uuid.uuid4().hex[:12]}"
        said = texts(await asyncio.to_thread(closed_server.say, conversation_id, "/human_agent"))
        assert f"back on {DAY_NAMES[OPEN_DAY]} 09:00 UTC" in said, said
        assert "email" in said
        assert "in the queue" in said and "number" not in said
        assert closed_server.tracker(conversation_id)["status"] == "escalated"

        ack = texts(await asyncio.to_thread(closed_server.say, conversation_id, "anyone there?"))
        assert f"back on {DAY_NAMES[OPEN_DAY]} 09:00 UTC" in ack, ack

        saved = texts(await asyncio.to_thread(closed_server.say, conversation_id,
                                              "ok it's mia.after.hours@example.com"))
        assert "mia.after.hours@example.com" in saved

        def contact() -> str | None:
            with Session(db) as session:
                return session.scalars(select(Escalation.contact_email).where(
                    Escalation.conversation_id == conversation_id,
                    Escalation.status == "open")).first()

        assert wait_for(contact) == "mia.after.hours@example.com"  # still in the queue
        alice = closed_server.login("alice", PASSWORD)
        queue = alice.get(closed_server.url + "/agent/api/queue", timeout=30).json()["items"]
        assert conversation_id in [i["conversation_id"] for i in queue]
    finally:
        await ws.close()
        await http.close()


async def test_inside_business_hours_with_an_agent_online_the_queue_is_told(
        seeded_database_url, tmp_path):
    running = await asyncio.to_thread(
        start_server, seeded_database_url, tmp_path,
        CAREBOT_CONFIG=str(settings_file(tmp_path, ALWAYS_OPEN)))
    try:
        http, ws = await agent_online(running)
        try:
            said = texts(await asyncio.to_thread(running.say, f"hours-{uuid.uuid4().hex[:12]}",
                                                 "/human_agent"))
            assert "number" in said and "in the queue" in said, said
            assert "back on" not in said and "nobody is online" not in said
        finally:
            await ws.close()
            await http.close()
    finally:
        await asyncio.to_thread(running.stop)


# -- the setting itself ---------------------------------------------------------------------


def test_hours_per_day_in_the_business_timezone():
    hours = BusinessHours.from_mapping({"timezone": "Europe/London",
                                        "hours": {"mon-fri": "09:00-17:30",
                                                  "sat": "10:00-14:00"}})
    saturday_3pm = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)  # GMT = UTC in December
    assert not hours.is_open(saturday_3pm)
    assert hours.opens_at(saturday_3pm) == "Monday 09:00 GMT"
    assert hours.seconds_until_open(saturday_3pm) == 42 * 3600
    assert hours.is_open(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 12, 7, 17, 29, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 12, 7, 17, 30, tzinfo=UTC))
    summer = datetime(2026, 7, 6, 8, 30, tzinfo=UTC)  # 09:30 BST
    assert hours.is_open(summer)
    assert hours.opens_at(datetime(2026, 7, 6, 7, 0, tzinfo=UTC)) == "Monday 09:00 BST"
    assert hours.opens_at(saturday_3pm.replace(day=7, hour=10)) == ""  # open now


def test_without_the_setting_the_team_is_always_open(tmp_path):
    (tmp_path / "carebot.yml").write_text("escalation:\n  negative_turns: 2\n")
    assert Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path)}).business_hours is None


@pytest.mark.parametrize(("hours", "named"), [
    ("  timezone: Mars/Olympus\n  hours: {mon: \"09:00-17:00\"}\n", "'Mars/Olympus'"),
    ("  timezone: UTC\n  hours: {funday: \"09:00-17:00\"}\n", "'funday'"),
    ("  timezone: UTC\n  hours: {mon: \"9 to 5\"}\n", "'9 to 5'"),
    ("  timezone: UTC\n  hours: {mon: \"17:00-09:00\"}\n", "'17:00-09:00'"),
])
def test_a_bad_value_is_named_with_the_file_and_line(tmp_path, hours, named):
    (tmp_path / "carebot.yml").write_text("recommender: false\nbusiness_hours:\n" + hours)
    with pytest.raises((BotFileError, SettingsError), match=r"carebot\.yml:2: .*" + named):
        Config.from_env({"CAREBOT_PROJECT_DIR": str(tmp_path)})
