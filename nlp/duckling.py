"""Rasa's DucklingEntityExtractor: a Duckling server when its url answers, else Carebot's
built-in dimensions (:mod:`nlp.duckling_builtin`) with the same entity shape.

A server that fails is left alone for a minute, so a dead url costs one short timeout a
minute, not one per message.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

from nlp import duckling_builtin
from nlp.components import DucklingSettings
from nlp.types import Entity

logger = logging.getLogger(__name__)

EXTRACTOR = "DucklingEntityExtractor"
RETRY_AFTER = 60.0  # seconds a failed server is skipped


class DucklingExtractor:
    def __init__(self, settings: DucklingSettings) -> None:
        self.settings = settings
        self._down_until = 0.0

    def _now(self) -> datetime:
        zone = ZoneInfo(self.settings.timezone) if self.settings.timezone else None
        return datetime.now(zone).astimezone(zone) if zone else datetime.now().astimezone()

    def extract(self, text: str, reference: datetime | None = None) -> list[Entity]:
        reference = reference or self._now()
        matches = None
        if self.settings.url and time.monotonic() >= self._down_until:
            matches = self._ask_server(text, reference)
        if matches is None:
            matches = [
                {"start": m.start, "end": m.end, "body": m.body, "dim": m.dim, "value": m.value}
                for m in duckling_builtin.extract(text, self.settings.dimensions, reference)
            ]
        dims = self.settings.dimensions
        return [_entity(m) for m in matches if not dims or m.get("dim") in dims]

    def _ask_server(self, text: str, reference: datetime) -> list[dict] | None:
        form = {
            "text": text,
            "locale": self.settings.locale or "en_US",
            "reftime": str(int(reference.timestamp() * 1000)),
        }
        if self.settings.timezone:
            form["tz"] = self.settings.timezone
        request = urllib.request.Request(
            self.settings.url.rstrip("/") + "/parse",
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout) as response:
                matches = json.loads(response.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            self._down_until = time.monotonic() + RETRY_AFTER
            logger.warning(
                "Duckling at %s does not answer (%s); using Carebot's built-in dimensions",
                self.settings.url,
                exc,
            )
            return None
        return matches if isinstance(matches, list) else None


def _entity(match: dict) -> Entity:
    """Rasa's conversion: an interval's value is ``{"to", "from"}``, else Duckling's value."""
    info = match.get("value") or {}
    if info.get("type") == "interval":
        value = {
            "to": (info.get("to") or {}).get("value"),
            "from": (info.get("from") or {}).get("value"),
        }
    else:
        value = info.get("value")
    return Entity(
        entity=match.get("dim", ""),
        value=value,
        start=int(match.get("start", 0)),
        end=int(match.get("end", 0)),
        confidence=1.0,
        extractor=EXTRACTOR,
        additional_info=info,
    )
