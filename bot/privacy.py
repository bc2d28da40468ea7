"""The customers' own words, for the people entitled to them: the customer's history and the
agent handling the conversation see what was written; analytics, exports and models only ever
read the redacted ``messages.text``.

The raw words are kept only where redaction changed something, Fernet-encrypted with keys
from the environment (CAREBOT_RAW_TEXT_KEY, newest first: older keys still decrypt), and
purged after ``raw_text_retention_days`` (``carebot privacy purge``).
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from analytics.store import fastjson
from analytics.store.privacy import SEALED_EVENTS

logger = logging.getLogger(__name__)


class RawText:
    """Seals and reveals raw message text; with no keys it keeps nothing (redacted only)."""

    def __init__(self, keys: tuple[str, ...] = ()) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys]) if keys else None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    def seal(self, raw: str, shown: str) -> str | None:
        """The ciphertext to store beside ``shown`` (the redacted text); None when they match."""
        if self._fernet is None or not raw or raw == shown:
            return None
        return self._fernet.encrypt(raw.encode("utf-8")).decode("ascii")

    def reveal(self, record) -> str:
        """A stored message's words as written, else (purged, no key) its redacted text."""
        sealed = getattr(record, "raw_text", None)
        if not sealed or self._fernet is None:
            return record.text
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            if not self._warned:  # a key was dropped from CAREBOT_RAW_TEXT_KEY too early
                logger.warning("raw text of message %s cannot be decrypted with the keys in "
                               "CAREBOT_RAW_TEXT_KEY; showing the redacted text", record.id)
                self._warned = True
            return record.text



class TrackerSeal:
    """A conversation's stored tracker (database row, Redis copy) with its Rasa events — the
    customer's words and the slots filled from them — in one Fernet token; the rest (status,
    counters, the active form the rollups read) stays readable. With raw text off the tracker
    is stored as it is, and carries no words beyond what the dialogue needs."""

    def __init__(self, raw_text: RawText) -> None:
        self._fernet = raw_text._fernet

    def seal(self, tracker: dict) -> dict:
        if self._fernet is None or not tracker.get("events"):
            return tracker
        sealed = self._fernet.encrypt(fastjson.dumps_bytes(tracker["events"]))
        return {**tracker, "events": [], SEALED_EVENTS: sealed.decode("ascii")}

    def open(self, stored: dict) -> dict:
        """The tracker as the dialogue uses it. A tracker whose key was dropped from
        CAREBOT_RAW_TEXT_KEY, or one purged after the retention, has no history: the
        conversation goes on from its status and counters."""
        token = stored.get(SEALED_EVENTS)
        if token is None:
            return stored
        tracker = {k: v for k, v in stored.items() if k != SEALED_EVENTS}
        if self._fernet is None:
            logger.warning("conversation %s: its history is encrypted and raw text is off; "
                           "it goes on without it", stored.get("id"))
            return tracker
        try:
            tracker["events"] = fastjson.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, ValueError):
            logger.warning("conversation %s: its history cannot be decrypted with the keys in "
                           "CAREBOT_RAW_TEXT_KEY; it goes on without it", stored.get("id"))
        return tracker
