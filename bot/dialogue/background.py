"""One named background task of a serving process, started once and stopped cleanly.

The escalation repair, the auto-closer and the reminder scheduler each run a loop for the
life of the server; this is their common start/stop, so that a stop always waits for the
loop to unwind (its ``finally`` blocks run) and a second start is a no-op."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class BackgroundTask:
    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, loop: Coroutine[Any, Any, Any]) -> None:
        """Run ``loop`` (a coroutine) as the task; closes it unstarted when one is running."""
        if self._task is not None:
            loop.close()
            return
        self._task = asyncio.create_task(loop, name=self.name)

    async def stop(self) -> None:
        """Cancel the task and wait until it has unwound."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
