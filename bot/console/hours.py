"""When the support team takes chats: carebot.yml's ``business_hours``.

    business_hours:
      timezone: Europe/London
      hours: {mon-fri: "09:00-17:30", sat: "10:00-14:00"}   # days not listed: closed

Outside these hours a handoff is answered as when nobody is online (the customer leaves an
email and the conversation stays in the agents' queue), with ``{opens_at}`` ("Monday 09:00
GMT") saying when the team is back. Without the setting the team is always open.
Imports nothing of Carebot's: bot/config.py reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class BusinessHoursError(ValueError):
    """The setting cannot be used as written; the message names the bad value."""


@dataclass(frozen=True)
class BusinessHours:
    """Opening spans per weekday (0 = Monday), minutes since midnight, in one timezone."""

    timezone: str
    spans: tuple[tuple[tuple[int, int], ...], ...]  # 7 days, each ((start, end), ...)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_mapping(cls, value: Any, where: str = "business_hours") -> BusinessHours:
        if not isinstance(value, dict):
            raise BusinessHoursError(f"{where} must be a mapping with timezone: and hours:, "
                                     f"not {value!r}")
        unknown = sorted(set(value) - {"timezone", "hours"})
        if unknown:
            raise BusinessHoursError(f"{where}: unknown key '{unknown[0]}'; use timezone: and "
                                     "hours:")
        zone = value.get("timezone")
        if not isinstance(zone, str) or not zone.strip():
            raise BusinessHoursError(f"{where}.timezone must be an IANA timezone such as "
                                     f"Europe/London, not {zone!r}")
        try:
            ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise BusinessHoursError(f"{where}.timezone: unknown timezone {zone!r}; use an "
                                     "IANA name such as Europe/London or America/New_York"
                                     ) from None
        hours = value.get("hours")
        if not isinstance(hours, dict) or not hours:
            raise BusinessHoursError(f"{where}.hours must map days to opening times, e.g. "
                                     f"{{mon-fri: \"09:00-17:30\"}}, not {hours!r}")
        spans: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for days, times in hours.items():
            for day in _days(str(days), f"{where}.hours"):
                for span in _spans(times, f"{where}.hours.{days}"):
                    spans[day].append(span)
        return cls(zone.strip(), tuple(tuple(sorted(s)) for s in spans))

    def is_open(self, now: datetime | None = None) -> bool:
        local = _local(now, self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.spans[local.weekday()])

    def next_opening(self, now: datetime | None = None) -> datetime | None:
        """When the team opens next (aware, in the business's timezone); None if it is open
        now or never opens."""
        if self.is_open(now):
            return None
        local = _local(now, self.zone)
        minute = local.hour * 60 + local.minute
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            for start, _ in self.spans[day.weekday()]:
                if ahead == 0 and start <= minute:
                    continue
                return datetime.combine(day, time(start // 60, start % 60), self.zone)
        return None

    def opens_at(self, now: datetime | None = None) -> str:
        """The next opening as a customer reads it: "Monday 09:00 GMT" ("" when open)."""
        opening = self.next_opening(now)
        if opening is None:
            return ""
        return f"{DAY_NAMES[opening.weekday()]} {opening:%H:%M} {opening.tzname()}".strip()

    def seconds_until_open(self, now: datetime | None = None) -> float:
        opening = self.next_opening(now)
        if opening is None:
            return 0.0
        return max(0.0, (opening - _aware(now)).total_seconds())


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)  # naive: UTC, as the store keeps it


def _local(now: datetime | None, zone: ZoneInfo) -> datetime:
    return _aware(now).astimezone(zone)


_DAY_WORDS = {**{d: i for i, d in enumerate(DAYS)},
              **{n.lower(): i for i, n in enumerate(DAY_NAMES)}}


def _days(text: str, where: str) -> list[int]:
    days: list[int] = []
    for part in (p.strip().lower() for p in text.split(",")):
        first, _, last = (w.strip() for w in part.partition("-"))
        if first not in _DAY_WORDS or (last and last not in _DAY_WORDS):
            raise BusinessHoursError(f"{where}: unknown day {part!r}; use mon, tue, wed, thu, "
                                     "fri, sat, sun or a range such as mon-fri")
        day, end = _DAY_WORDS[first], _DAY_WORDS[last or first]
        while True:
            days.append(day)
            if day == end:
                break
            day = (day + 1) % 7
    return days


def _spans(value: Any, where: str) -> list[tuple[int, int]]:
    items = value if isinstance(value, list) else [value]
    spans = []
    for item in items:
        match = _SPAN.match(str(item)) if isinstance(item, str) else None
        if match is None:
            raise BusinessHoursError(f"{where}: {item!r} is not opening hours; write them as "
                                     "\"09:00-17:30\" (or a list of such spans)")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= start:
            raise BusinessHoursError(f"{where}: {item!r} is not a span of one day; the start "
                                     "comes before the end, from 00:00 to 24:00")
        spans.append((start, end))
    return spans
