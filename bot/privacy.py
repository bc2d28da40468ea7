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
