"""Personal data in customer messages, found and masked before anything is stored.

Order numbers are not personal data and are left alone.
"""

from __future__ import annotations

import re

from nlp.types import PIISpan

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,5}(?:[\s.-]?\d{2,5}){1,4}(?!\w)"
)
_STREET_SUFFIX = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|close|crescent|parkway|pkwy|highway|hwy|square|sq|circle|cir|row|gardens|grove"
)
_STOPWORD = r"(?:the|a|an|my|your|our|on|in|of|to|for|and|or|by|at|is|was|are|it|days?|items?)\b"
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:(?!{_STOPWORD})[A-Za-z][A-Za-z'-]*\.?\s+){{1,3}}"
    rf"(?:{_STREET_SUFFIX})\b\.?(?:,?\s*(?:apt|apartment|unit|suite|flat|#)\.?\s*[\w-]+)?",
    re.IGNORECASE,
)
_ORDER_ID = re.compile(r"\bA\d{5}\b", re.IGNORECASE)
PLACEHOLDERS = {k: f"[{k}]" for k in ("EMAIL", "PHONE", "CARD", "ADDRESS", "PERSON")}


def luhn_valid(digits: str) -> bool:
    """Payment card checksum (ISO/IEC 7812)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find_pii(text: str, doc=None) -> list[PIISpan]:
    """PII spans in ``text``; person names come from a spaCy ``doc`` of it when given."""
    spans: list[PIISpan] = []

    def add(kind: str, start: int, end: int) -> None:
        if not any(start < s.end and s.start < end for s in spans):
            spans.append(PIISpan(kind, start, end))

    for m in _EMAIL.finditer(text):
        add("EMAIL", m.start(), m.end())
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            add("CARD", m.start(), m.end())
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        international = m.group(0).startswith(("+", "("))
        if 10 <= len(digits) <= 15 or (international and len(digits) >= 7):
            add("PHONE", m.start(), m.end())
    for m in _ADDRESS.finditer(text):
        add("ADDRESS", m.start(), m.end())
    if doc is not None:
        for ent in doc.ents:
            if ent.label_ == "PERSON" and not _ORDER_ID.search(ent.text):
                add("PERSON", *_whole_name(doc, ent))
    return sorted(spans, key=lambda s: s.start)


def _whole_name(doc, ent) -> tuple[int, int]:
    """The small spaCy model often tags only the surname; take adjacent capitalised names."""
    start, end = ent.start, ent.end
    while start > 0 and doc[start - 1].pos_ == "PROPN" and doc[start - 1].text.istitle():
        start -= 1
    while end < len(doc) and doc[end].pos_ == "PROPN" and doc[end].text.istitle():
        end += 1
    return doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)


def redact(text: str, doc=None) -> tuple[str, list[PIISpan]]:
    """``text`` with each PII span replaced by a placeholder such as ``[EMAIL]``.

    Without ``doc`` the shared spaCy pipeline is run to find person names.
    """
    if doc is None:
        from nlp.spacy_model import load_spacy

        doc = load_spacy()(text)
    spans = find_pii(text, doc)
    return mask(text, spans), spans


def mask(text: str, spans: list[PIISpan]) -> str:
    """Replace non-overlapping, sorted ``spans`` of ``text`` by their placeholders."""
    parts, pos = [], 0
    for span in spans:
        parts += [text[pos : span.start], PLACEHOLDERS[span.kind]]
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)
