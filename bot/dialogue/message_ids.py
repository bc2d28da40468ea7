"""Client message ids (the widget's uuids) are handled once, ever, in every process: a resend
is recognised from the conversation's recent ids (also shared through Redis) and, beyond
them or from another conversation or process, from the store's receipts."""

from __future__ import annotations

import asyncio
import logging

from analytics.store.receipts import MessageReceipts, ReceiptsUnavailable

logger = logging.getLogger(__name__)


class MessageIds:
    """``look_up()`` when a turn starts, ``found()`` before it acts, ``claim_blocking()``
    before its result is kept."""

    def __init__(self, receipts: MessageReceipts | None) -> None:
        self._receipts = receipts
        self._degraded = False  # the database was unreachable: said once, not per message

    def look_up(self, message_id: str | None) -> asyncio.Task[bool] | None:
        """Start asking the store whether the id was handled; the turn's NLU runs meanwhile."""
        if message_id is None or self._receipts is None:
            return None
        return asyncio.create_task(self._seen(message_id))

    @staticmethod
    async def found(lookup: asyncio.Task[bool] | None) -> bool:
        """True when the id was handled already (a resend to answer with an ack only)."""
        return False if lookup is None else await lookup

    async def _seen(self, message_id: str) -> bool:
        try:
            seen = await asyncio.to_thread(self._receipts.seen, message_id)
        except ReceiptsUnavailable as exc:
            self._unavailable(exc)
            return False
        except Exception:  # a lookup nobody awaited (the turn failed) must not warn later
            logger.exception("message receipts: looking up %s failed", message_id)
            return False
        self._available()
        return seen

    def claim_blocking(self, conversation_id: str, message_id: str) -> bool:
        """Record the id as handled (call from a worker thread); False when another turn
        (another conversation, another process) claimed it first and this turn's result must
        be dropped."""
        if self._receipts is None:
            return True
        try:
            claimed = self._receipts.claim(message_id, conversation_id)
        except ReceiptsUnavailable as exc:
            # The message reaches the store through the conversation log, and seen() finds it
            # there later; meanwhile only the conversation's recent ids catch resends.
            self._unavailable(exc)
            return True
        self._available()
        return claimed

    def _unavailable(self, exc: Exception) -> None:
        if not self._degraded:
            logger.warning("message receipts unavailable (%s): resends are recognised by the "
                           "conversation's recent message ids only until the database is back",
                           exc)
        self._degraded = True

    def _available(self) -> None:
        if self._degraded:
            logger.info("message receipts available again")
        self._degraded = False
