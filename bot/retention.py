"""The server erases raw text past its retention (``raw_text_retention_days``) at start-up
and every hour; ``carebot privacy purge`` does the same by hand."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web

from analytics.store.privacy import purge_raw_text
from analytics.store.records import naive_utc_now
from bot.web.keys import CONFIG, DB

logger = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 3600.0


async def _purge_forever(app: web.Application) -> None:
    days = app[CONFIG].raw_text_retention_days
    first = True
    while True:
        cutoff = naive_utc_now() - timedelta(days=days)
        # after the first run, only trackers that went idle since the last run are read
        since = None if first else cutoff - timedelta(seconds=2 * PURGE_EVERY_SECONDS)
        try:
            result = await asyncio.to_thread(purge_raw_text, app[DB], cutoff, since)
            if result.messages or result.conversations:
                logger.info("privacy: erased the raw text of %d messages and %d trackers older "
                            "than %d days", result.messages, result.conversations, days)
            first = False
        except Exception:  # the database blipped: the next hour tries again
            logger.exception("privacy: purging raw text failed; retrying in an hour")
        await asyncio.sleep(PURGE_EVERY_SECONDS)


async def _retention(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_purge_forever(app), name="raw-text-retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def add_raw_text_retention(app: web.Application) -> None:
    """Run the purge while the server runs (add after the runtime that opens ``DB``)."""
    app.cleanup_ctx.append(_retention)
