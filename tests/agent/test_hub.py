"""The hub that lets server processes share events, locks and state: in memory and over Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from live_server import REDIS_URL, redis_unreachable_reason

from bot.dialogue.hub import Hub, RedisHub, make_hub


@pytest.fixture
async def two_redis_hubs():
    """Two hubs on one Redis, as two server processes would have (a prefix per test)."""
    reason = redis_unreachable_reason()
    if reason:
        pytest.skip(reason)
    prefix = f"carebot-test-{uuid.uuid4().hex[:8]}:"
    hubs = [RedisHub(REDIS_URL, prefix=prefix), RedisHub(REDIS_URL, prefix=prefix)]
    for hub in hubs:
        await hub.start()
    yield hubs
    for hub in hubs:
        await hub.close()


async def collect(hub: Hub, topic: str) -> list[dict]:
    received: list[dict] = []

    async def subscriber(_topic: str, event: dict) -> None:
        received.append(event)

    hub.subscribe(topic, subscriber)
    return received


async def eventually(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def overlapping_holds(hubs: list[Hub], conversation_id: str, rounds: int = 10) -> int:
    """How often two holders of the conversation's lock were inside it at once."""
    inside = 0
    overlaps = 0

    async def hold(hub: Hub) -> None:
        nonlocal inside, overlaps
        async with hub.lock(conversation_id):
            inside += 1
            overlaps += inside > 1
            await asyncio.sleep(0.005)
            inside -= 1

    await asyncio.gather(*(hold(hubs[i % len(hubs)]) for i in range(rounds)))
    return overlaps


async def test_the_in_process_hub_delivers_events_to_subscribers():
    hub = await make_hub(None)
    received = await collect(hub, "agents")
    await hub.publish("agents", {"type": "queue_changed"})
    await hub.publish("other", {"type": "ignored"})
    assert received == [{"type": "queue_changed"}]
    assert hub.shared is False


async def test_the_in_process_hub_holds_a_conversation_for_one_at_a_time():
    hub = Hub()
    assert await overlapping_holds([hub], "c-1") == 0
    assert hub._locks == {}  # nothing left behind once nobody holds or waits


async def test_an_event_published_by_one_process_reaches_the_other(two_redis_hubs):
    first, second = two_redis_hubs
    received = await collect(second, "customer")
    await first.publish("customer", {"conversation_id": "c-1", "event": {"type": "agent"}})
    await eventually(lambda: received)
    assert received == [{"conversation_id": "c-1", "event": {"type": "agent"}}]


async def test_a_conversation_is_held_by_one_process_at_a_time(two_redis_hubs):
    assert await overlapping_holds(two_redis_hubs, "c-2", rounds=12) == 0


async def test_different_conversations_do_not_wait_for_each_other(two_redis_hubs):
    first, second = two_redis_hubs
    async with first.lock("c-3"):
        async with asyncio.timeout(2):
            async with second.lock("c-4"):
                pass


async def test_the_state_one_process_saves_is_what_the_other_loads(two_redis_hubs):
    first, second = two_redis_hubs
    assert await second.load_state("c-5") is None
    await first.save_state("c-5", {"id": "c-5", "turns": 3, "status": "agent"})
    assert await second.load_state("c-5") == {"id": "c-5", "turns": 3, "status": "agent"}


async def test_an_unreachable_redis_says_what_to_do():
    with pytest.raises(RuntimeError, match="CAREBOT_REDIS_URL"):
        await make_hub("redis://127.0.0.1:1/0")
