"""bot.dialogue.background: a server's loop runs once however often it is started, and a stop
waits until the loop has unwound."""

from __future__ import annotations

import asyncio

from bot.dialogue.background import BackgroundTask


def test_started_twice_runs_once_and_stop_unwinds_the_loop():
    rounds: list[str] = []

    async def loop(tag: str) -> None:
        try:
            while True:
                rounds.append(tag)
                await asyncio.sleep(0.01)
        finally:
            rounds.append(f"{tag} unwound")

    async def main() -> None:
        task = BackgroundTask("test-loop")
        task.start(loop("first"))
        task.start(loop("second"))  # already running: this one is closed unstarted
        assert task.running
        await asyncio.sleep(0.05)
        await task.stop()
        assert not task.running
        assert rounds[-1] == "first unwound"
        assert "second" not in rounds
        await task.stop()  # stopping a stopped task is harmless
        task.start(loop("again"))  # and it can start again
        await asyncio.sleep(0.02)
        await task.stop()
        assert rounds[-1] == "again unwound"

    asyncio.run(main())
