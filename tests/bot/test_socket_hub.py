"""The workers' hub without Redis: a HubServer (the supervisor's) and SocketHub clients (the
workers') over a real Unix socket — locks across workers, in order, freed by a worker that
dies; the state one worker leaves is what another reads; events reach every worker."""

from __future__ import annotations

import asyncio

import pytest

from bot.dialogue.hub import ConversationBusy, Hub
from bot.dialogue.socket_hub import HubServer, SocketHub


@pytest.fixture
async def server(tmp_path):
    hub_server = HubServer(tmp_path / "hub.sock", lease_seconds=2.0)
    await hub_server.start()
    yield hub_server
    await hub_server.close()


@pytest.fixture
async def workers(server):
    hubs = [SocketHub(server.path), SocketHub(server.path)]
    for hub in hubs:
        await hub.start()
    yield hubs
    for hub in hubs:
        await hub.close()


async def overlaps(hubs: list[Hub], key: str, rounds: int = 20) -> tuple[int, list[int]]:
    """(times two holders were inside at once, the order the holders got in)."""
    inside = overlapped = 0
    order: list[int] = []

    async def hold(n: int) -> None:
        nonlocal inside, overlapped
        async with hubs[n % len(hubs)].lock(key):
            inside += 1
            overlapped += inside > 1
            order.append(n)
            await asyncio.sleep(0.002)
            inside -= 1

    tasks = []
    for n in range(rounds):  # asked one after another, so they must be served in that order
        tasks.append(asyncio.create_task(hold(n)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return overlapped, order


async def test_two_workers_never_hold_one_conversation_at_once_and_are_served_in_turn(workers):
    overlapped, order = await overlaps(workers, "c-1")
    assert overlapped == 0
    assert order == list(range(20))


async def test_separate_in_process_hubs_would_overlap(tmp_path):
    # the check above can fail: two processes' own locks do not exclude each other
    overlapped, _ = await overlaps([Hub(), Hub()], "c-1")
    assert overlapped > 0


async def test_the_state_one_worker_saves_is_what_the_other_loads(workers):
    first, second = workers
    assert await second.load_state("c-2") is None
    async with first.lock("c-2"):
        await first.save_state("c-2", {"turns": 3, "text": "naïve ✓"})
    async with second.lock("c-2"):
        assert await second.load_state("c-2") == {"turns": 3, "text": "naïve ✓"}


async def test_a_worker_holding_the_latest_revision_is_told_so_instead_of_sent_it(workers):
    """A worker whose cached state is the revision the hub holds gets "unchanged" (no
    transfer, no decrypting): after another worker saves, it gets the new state."""
    from bot.dialogue.hub import REV, UNCHANGED

    first, second = workers
    assert await first.load_state_unless("c-3", "r1") is None  # nothing kept yet
    await first.save_state("c-3", {"turns": 1, REV: "r1"})
    assert await first.load_state_unless("c-3", "r1") is UNCHANGED
    assert await second.load_state_unless("c-3", None) == {"turns": 1, REV: "r1"}
    await second.save_state("c-3", {"turns": 2, REV: "r2"})
    assert await first.load_state_unless("c-3", "r1") == {"turns": 2, REV: "r2"}
    # the in-process hub keeps nothing: there is never an "unchanged"
    assert await Hub().load_state_unless("c-3", "r2") is None


async def test_rate_limits_are_counted_once_for_every_worker(workers):
    """Without Redis, each worker's RateLimiter counts in the supervisor's hub: three
    messages per minute means three across both workers, not three at each."""
    from bot.config import RateLimits
    from bot.web.ratelimit import RateLimiter

    settings = RateLimits(messages_per_conversation="3 per minute")
    first, second = (RateLimiter(settings, None, hub) for hub in workers)
    assert "workers' hub" in first.describe()
    results = [await limiter.hit("messages_per_conversation", "c-9")
               for limiter in (first, second, first, second)]
    assert results[:3] == [None, None, None]
    refused = results[3]
    assert refused is not None and 55 <= refused.seconds <= 60
    assert await first.check("messages_per_conversation", "c-9") is not None  # both see it
    assert await second.hit("messages_per_conversation", "other") is None  # per key
    await first.clear("messages_per_conversation", "c-9")
    assert await second.hit("messages_per_conversation", "c-9") is None


async def test_an_event_published_at_one_worker_reaches_every_worker(workers):
    received: list[tuple[int, dict]] = []
    for n, hub in enumerate(workers):
        async def subscriber(topic, event, n=n):
            received.append((n, event))
        hub.subscribe("customer", subscriber)
    await workers[0].publish("customer", {"conversation_id": "c-3", "text": "hello"})
    async with asyncio.timeout(5):
        while len(received) < 2:
            await asyncio.sleep(0.01)
    assert sorted(received, key=lambda r: r[0]) == [
        (0, {"conversation_id": "c-3", "text": "hello"}),
        (1, {"conversation_id": "c-3", "text": "hello"})]


async def test_a_dead_workers_locks_pass_to_the_next_waiter(server, workers):
    dying = SocketHub(server.path)
    await dying.start()
    held = dying.lock("c-4")
    await held.__aenter__()  # the worker dies holding the lock
    waiter = asyncio.create_task(_hold_briefly(workers[0], "c-4"))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    await dying.close()
    async with asyncio.timeout(5):
        await waiter


async def test_a_lock_held_past_its_lease_is_taken_back(server, workers):
    await workers[1].lock("c-5").__aenter__()  # a hung worker: never releases
    async with asyncio.timeout(5):  # the lease is 2 s here
        await _hold_briefly(workers[0], "c-5")


async def test_a_waiter_gives_up_with_conversation_busy_and_leaves_the_queue(server, tmp_path):
    patient, impatient = SocketHub(server.path), SocketHub(server.path, lock_wait=0.2)
    for hub in (patient, impatient):
        await hub.start()
    try:
        holder = patient.lock("c-6")
        await holder.__aenter__()
        with pytest.raises(ConversationBusy):
            async with impatient.lock("c-6"):
                pass
        await holder.__aexit__(None, None, None)
        async with asyncio.timeout(2):  # nobody left waiting ahead: granted at once
            await _hold_briefly(impatient, "c-6")
    finally:
        for hub in (patient, impatient):
            await hub.close()


async def _hold_briefly(hub: Hub, key: str) -> None:
    async with hub.lock(key):
        await asyncio.sleep(0)
