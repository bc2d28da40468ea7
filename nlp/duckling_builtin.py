"""Duckling's common dimensions without a Duckling server: numbers, amounts of money,
times, durations, emails, phone numbers and URLs in English.

Each match carries Duckling's own value object (``{"value": ..., "type": "value", "grain":
...}`` or an interval's ``from``/``to``), so actions written for Rasa's
DucklingEntityExtractor read these entities unchanged. Coverage is the everyday phrasing of
customer messages, not all of Duckling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from nlp.duckling_time import iso, times  # noqa: F401 (iso: Duckling's timestamp form)
from nlp.patterns import EMAIL

DIMENSIONS = ("number", "amount-of-money", "time", "duration", "email", "phone-number", "url")


@dataclass(frozen=True)
class Match:
    dim: str
    start: int
    end: int
    body: str
    value: dict  # Duckling's "value" object


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "a": 1, "an": 1,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_WORD = r"(?:" + "|".join(sorted((k for k in _UNITS if len(k) > 2), key=len, reverse=True)) + ")"
_WORD_NUMBER = rf"(?:(?:{_WORD}|an?)(?:[\s-]+(?:{_WORD}|hundred|thousand|million|and))*)"
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUMBER = rf"(?:{_DIGITS}|{_WORD_NUMBER})"

_CURRENCY_SYMBOLS = {"$": "$", "€": "EUR", "£": "£"}
_CURRENCY_WORDS = {
    "dollar": "$", "dollars": "$", "bucks": "$", "usd": "USD", "euro": "EUR", "euros": "EUR",
    "eur": "EUR", "pound": "£", "pounds": "£", "gbp": "GBP", "cents": "cent",
}  # fmt: skip
_CUR_WORD = "|".join(sorted(_CURRENCY_WORDS, key=len, reverse=True))
_AMOUNT = re.compile(
    rf"(?P<sym>[$€£])\s?(?P<n1>{_DIGITS})(?!\w)"
    rf"|(?<![\w.])(?P<n2>{_NUMBER})\s?(?:(?P<word>{_CUR_WORD})\b|(?P<sym2>[$€£]))",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(rf"(?<![\w.,])(?:{_DIGITS}|\b{_WORD_NUMBER}\b)(?![\w,]\d)", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{3,4}[\s.-]?\d{3,4}(?:[\s.-]?\d{2,4})?(?!\w)"
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)]", re.IGNORECASE)
_DURATION_UNITS = {
    "second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
    "month": 2592000, "year": 31536000,
}  # fmt: skip
_DURATION = re.compile(
    rf"\b(?P<n>{_NUMBER})\s+(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)


def word_number(text: str) -> float | None:
    """The value of ``text`` written in digits or English words ("a hundred", "twenty-five")."""
    text = text.strip().lower()
    if re.fullmatch(_DIGITS, text):
        return float(text.replace(",", ""))
    total, current, seen = 0, 0, False
    for word in re.split(r"[\s-]+", text):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
            seen = True
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
            seen = True
        else:
            return None
    return float(total + current) if seen else None


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def extract(text: str, dims: list[str] | None, reference: datetime) -> list[Match]:
    """Duckling-style matches for ``dims`` (None: all), with contained matches dropped."""
    wanted = set(DIMENSIONS if dims is None else dims)
    found: list[Match] = []
    if "amount-of-money" in wanted:
        found += _amounts(text)
    if "number" in wanted:
        for m in _NUMBER_RE.finditer(text):
            value = word_number(m.group(0))
            if value is not None and m.group(0).lower() not in ("a", "an"):
                found.append(
                    Match(
                        "number",
                        m.start(),
                        m.end(),
                        m.group(0),
                        {"value": _num(value), "type": "value"},
                    )
                )
    if "time" in wanted:

        found += [Match("time", s, e, text[s:e], v) for s, e, v in times(text, reference)]
    if "duration" in wanted:
        found += _durations(text)
    if "email" in wanted:
        found += [
            Match("email", m.start(), m.end(), m.group(0), {"value": m.group(0)})
            for m in re.finditer(EMAIL, text)
        ]
    if "url" in wanted:
        for m in _URL.finditer(text):
            domain = re.sub(r"^(?:https?://)?(?:www\.)?", "", m.group(0), flags=re.I).split("/")[0]
            found.append(
                Match(
                    "url",
                    m.start(),
                    m.end(),
                    m.group(0),
                    {"value": m.group(0), "domain": domain.lower()},
                )
            )
    if "phone-number" in wanted:
        for m in _PHONE.finditer(text):
            digits = re.sub(r"[^\d+]", "", m.group(0))
            if len(digits.lstrip("+")) >= 7:
                found.append(
                    Match("phone-number", m.start(), m.end(), m.group(0), {"value": digits})
                )
    return _winners(found)


def _amounts(text: str) -> list[Match]:
    out = []
    for m in _AMOUNT.finditer(text):
        raw = m.group("n1") or m.group("n2")
        value = word_number(raw)
        if value is None:
            continue
        if m.group("sym") or m.group("sym2"):
            unit = _CURRENCY_SYMBOLS[m.group("sym") or m.group("sym2")]
        else:
            unit = _CURRENCY_WORDS[m.group("word").lower()]
        out.append(
            Match(
                "amount-of-money",
                m.start(),
                m.end(),
                m.group(0),
                {"value": _num(value), "type": "value", "unit": unit},
            )
        )
    return out


def _durations(text: str) -> list[Match]:
    out = []
    for m in _DURATION.finditer(text):
        value = word_number(m.group("n"))
        if value is None:
            continue
        unit = m.group("unit").lower().rstrip("s")
        unit = {"sec": "second", "min": "minute", "hr": "hour"}.get(unit, unit)
        seconds = value * _DURATION_UNITS[unit]
        out.append(
            Match(
                "duration", m.start(), m.end(), m.group(0),
                {"value": _num(value), "type": "value", "unit": unit, unit: _num(value),
                 "normalized": {"value": _num(seconds), "unit": "second"}},
            )
        )  # fmt: skip
    return out


def _winners(matches: list[Match]) -> list[Match]:
    """Duckling's winners: a match inside a longer one (of any dimension) is dropped."""
    kept = [
        m
        for m in matches
        if not any(
            o is not m
            and o.start <= m.start
            and m.end <= o.end
            and (o.end - o.start) > (m.end - m.start)
            for o in matches
        )
    ]
    unique: dict[tuple, Match] = {}
    for m in kept:
        unique.setdefault((m.dim, m.start, m.end), m)
    return sorted(unique.values(), key=lambda m: (m.start, m.end))
