"""English dates and times as Duckling resolves them: ``(start, end, value)`` where value is
Duckling's time object, a ``value`` with a ``grain`` or an ``interval`` with ``from``/``to``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")]
    )
    for m in names
}  # fmt: skip
_WEEKDAYS = {
    d: i
    for i, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
         ("thursday", "thu", "thurs"), ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun")]
    )
    for d in names
}  # fmt: skip
_COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12}  # fmt: skip
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "tenth": 10,
             "fifteenth": 15, "twentieth": 20, "last": -1}  # fmt: skip

_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?P<weekday>" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_COUNT = r"(?P<count>\d+|" + "|".join(_COUNT_WORDS) + r")"
_UNIT = r"(?P<unit>day|week|month|year|hour|minute)s?"
_CLOCK = r"(?P<hour>[01]?\d|2[0-3])(?::(?P<minute>[0-5]\d))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?"

_RULES: list[tuple[str, str]] = [
    ("interval_past", rf"\b(?:the\s+)?(?:past|last|previous)\s+{_COUNT}\s+{_UNIT}\b"),
    ("interval_next", rf"\b(?:the\s+)?(?:next|coming)\s+{_COUNT}\s+{_UNIT}\b"),
    ("ago", rf"\b{_COUNT}\s+{_UNIT}\s+ago\b"),
    ("in_n", rf"\bin\s+{_COUNT}\s+{_UNIT}\b"),
    (
        "ordinal_of_month",
        r"\b(?:the\s+)?(?P<ord>first|second|third|last|\d{1,2}(?:st|nd|rd|th))"
        r"\s+(?:day\s+)?of\s+(?P<rel>next|this|last)\s+month\b",
    ),
    ("month_day_year", rf"\b{_MONTH}\s+{_DAY}(?:,?\s+(?P<year>\d{{4}}))?\b"),
    ("day_month_year", rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<year>\d{{4}}))?\b"),
    ("month_year", rf"\b(?:in\s+)?{_MONTH}\s+(?P<year>\d{{4}})\b"),
    ("iso_date", r"\b(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})\b"),
    ("us_date", r"\b(?P<mon>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{2,4})\b"),
    ("in_month", rf"\bin\s+{_MONTH}\b"),
    (
        "relative_unit",
        r"\b(?P<rel>this|next|last|past|previous|coming)\s+(?P<unit>week|month|year)\b",
    ),
    ("weekend", r"\b(?:this\s+|the\s+)?weekend\b"),
    ("weekday", rf"\b(?:(?P<rel>next|last|this)\s+)?{_WEEKDAY}\b"),
    ("day_word", r"\b(?P<word>today|tomorrow|yesterday|tonight|now)\b"),
    ("in_year", r"\bin\s+(?P<year>(?:19|20)\d{2})\b"),
    ("clock", rf"\bat\s+{_CLOCK}(?!\w)"),
    (
        "clock",
        r"\b(?P<hour>[01]?\d|2[0-3])(?::(?P<minute>[0-5]\d))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)(?!\w)",
    ),
]
_COMPILED = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in _RULES]


def _value(moment: datetime, grain: str) -> dict:

    one = {"value": iso(moment), "grain": grain, "type": "value"}
    return {"values": [one], **one}


def _interval(start: datetime, end: datetime, grain: str) -> dict:

    ends = {
        "from": {"value": iso(start), "grain": grain},
        "to": {"value": iso(end), "grain": grain},
    }
    return {"values": [{**ends, "type": "interval"}], **ends, "type": "interval"}


def _floor(moment: datetime, grain: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    if grain == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if grain == "minute":
        return moment.replace(second=0, microsecond=0)
    return day


def _step(unit: str, n: int) -> relativedelta:
    return relativedelta(**{f"{unit}s": n})


def _count(text: str) -> int:
    return int(text) if text.isdigit() else _COUNT_WORDS[text.lower()]


def _resolve(name: str, m: re.Match, ref: datetime) -> dict | None:
    g = {k: (v.lower() if isinstance(v, str) else v) for k, v in m.groupdict().items()}
    today = _floor(ref, "day")
    if name in ("interval_past", "interval_next"):
        unit, n = g["unit"], _count(g["count"])
        now = _floor(ref, unit)
        if name == "interval_past":
            return _interval(now - _step(unit, n), now, unit)
        return _interval(now + _step(unit, 1), now + _step(unit, n + 1), unit)
    if name in ("ago", "in_n"):
        unit, n = g["unit"], _count(g["count"])
        sign = -1 if name == "ago" else 1
        grain = unit if unit in ("hour", "minute") else "day"
        return _value(_floor(ref + _step(unit, sign * n), grain), grain)
    if name == "ordinal_of_month":
        shift = {"next": 1, "this": 0, "last": -1}[g["rel"]]
        month = _floor(ref, "month") + relativedelta(months=shift)
        ordinal = _ORDINALS.get(g["ord"]) or int(re.sub(r"\D", "", g["ord"]))
        day = (
            month + relativedelta(months=1, days=-1)
            if ordinal == -1
            else month.replace(day=ordinal)
        )
        return _value(day, "day")
    if name in ("month_day_year", "day_month_year", "iso_date", "us_date"):
        month = _MONTHS[g["month"]] if g.get("month") else int(g["mon"])
        year = int(g["year"]) if g.get("year") else None
        if year is not None and year < 100:
            year += 2000
        try:
            moment = today.replace(year=year or today.year, month=month, day=int(g["day"]))
        except ValueError:
            return None
        if year is None and moment < today:
            moment = moment.replace(year=moment.year + 1)
        return _value(moment, "day")
    if name in ("month_year", "in_month"):
        month = _MONTHS[g["month"]]
        year = int(g["year"]) if g.get("year") else today.year
        moment = today.replace(year=year, month=month, day=1)
        if not g.get("year") and moment < _floor(ref, "month"):
            moment = moment.replace(year=year + 1)
        return _value(moment, "month")
    if name == "relative_unit":
        unit = g["unit"]
        shift = {"this": 0, "next": 1, "coming": 1}.get(g["rel"], -1)
        return _value(_floor(ref, unit) + _step(unit, shift), unit)
    if name == "weekend":
        friday = today + timedelta(days=(4 - today.weekday()) % 7)
        start = friday.replace(hour=18)
        return _interval(start, friday + timedelta(days=3), "hour")
    if name == "weekday":
        target = _WEEKDAYS[g["weekday"]]
        ahead = (target - today.weekday()) % 7
        if g.get("rel") == "last":
            ahead = ahead - 7 if ahead else -7
        elif g.get("rel") == "next" and ahead == 0:
            ahead = 7
        return _value(today + timedelta(days=ahead), "day")
    if name == "day_word":
        word = g["word"]
        if word == "now":
            return _value(ref.replace(microsecond=0), "second")
        if word == "tonight":
            return _interval(today.replace(hour=18), today + timedelta(days=1), "hour")
        shift = {"today": 0, "tomorrow": 1, "yesterday": -1}[word]
        return _value(today + timedelta(days=shift), "day")
    if name == "in_year":
        return _value(today.replace(year=int(g["year"]), month=1, day=1), "year")
    if name == "clock":
        hour = int(g["hour"])
        ampm = (g.get("ampm") or "").replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        if ampm == "am" and hour == 12:
            hour = 0
        minute = int(g["minute"]) if g.get("minute") else 0
        moment = ref.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment < ref:
            moment += timedelta(days=1)
        return _value(moment, "minute" if g.get("minute") else "hour")
    return None


def times(text: str, reference: datetime) -> list[tuple[int, int, dict]]:
    """Time expressions in ``text`` relative to ``reference`` (an aware datetime)."""
    found: list[tuple[int, int, dict]] = []
    taken: list[tuple[int, int]] = []
    for name, pattern in _COMPILED:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            value = _resolve(name, m, reference)
            if value is not None:
                found.append((m.start(), m.end(), value))
                taken.append((m.start(), m.end()))
    found.sort()
    return _with_clock_times(found)


def _with_clock_times(found: list[tuple[int, int, dict]]) -> list[tuple[int, int, dict]]:
    """A day followed by a clock time ("tomorrow at 5pm") is one moment of the clock's grain."""
    out: list[tuple[int, int, dict]] = []
    for start, end, value in found:
        if out and value.get("grain") in ("hour", "minute") and out[-1][2].get("grain") == "day":
            p_start, p_end, day = out[-1]
            if start - p_end <= 1:
                moment = datetime.fromisoformat(day["value"])
                clock = datetime.fromisoformat(value["value"])
                combined = moment.replace(hour=clock.hour, minute=clock.minute)
                out[-1] = (p_start, end, _value(combined, value["grain"]))
                continue
        out.append((start, end, value))
    return out


def iso(moment: datetime) -> str:
    """Duckling's timestamp form: ``2019-01-01T00:00:00.000-08:00``."""
    text = moment.isoformat(timespec="milliseconds")
    return text if moment.tzinfo else text + "Z"
