"""Client message ids (the widget's uuids) are handled once, ever, in every process: a resend
is recognised from the conversation's recent ids (also shared through Redis) and, beyond
them or from another conversation or process, from the store's receipts."""

from __future__ import annotations

import asyncio
import logging

from analytics.store.receipts import MessageReceipts, ReceiptsUnavailable
from bot.dialogue.state import ConversationState

logger = logging.getLogger(__name__)


class MessageIds:
    """``seen()`` before a turn runs, ``claim()`` before its result is kept."""

    def __init__(self, receipts: MessageReceipts | None) -> None:
        self._receipts = receipts
        self._degraded = False  # the database was unreachable: said once, not per message

    async def seen(self, state: ConversationState, message_id: str) -> bool:
        """True when the message was handled already (a resend to answer with an ack only)."""
        if message_id in state.recent_message_ids:
            return True
        if self._receipts is None:
            return False
        try:
            seen = await asyncio.to_thread(self._receipts.seen, message_id)
        except ReceiptsUnavailable as exc:
            self._unavailable(exc)
            return False
        self._available()
        return seen

    async def claim(self, conversation_id: str, message_id: str) -> bool:
        """Record the id as handled; False when another turn (another conversation, another
        process) claimed it first, and this turn's result must be dropped."""
        if self._receipts is None:
            return True
        try:
            claimed = await asyncio.to_thread(self._receipts.claim, message_id, conversation_id)
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
