"""Personal data in customer messages, found and masked before anything is stored.

Order numbers are not personal data and are left alone.
"""

from __future__ import annotations

import re

from nlp.patterns import EMAIL, ORDER_ID
from nlp.types import PIISpan

_EMAIL = re.compile(EMAIL)
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
_ORDER_ID = re.compile(ORDER_ID)
# A capitalised word that is not the message's first word (nor "I", "I'm"): maybe a name.
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)(?<![.!?])\b(?!I')[A-Z][a-z'-]*[a-z]\b")
_FIRST_TWO_CAPITALISED = re.compile(r"^\s*[A-Z][a-z'-]+\s+[A-Z][a-z'-]+\b")
_NAME_WORD = r"[A-Za-z][a-z'-]+"
_NOT_A_NAME = re.compile(
    r"(?:the|a|an|on|in|at|not|still|here|there|from|with|and|also|very|so|really|just|"
    r"sorry|happy|sad|angry|upset|fine|good|ok|okay|done|back|new|about|your|my|his|her|"
    r"their|please|thanks|thank|again|speaking|is|was|and|but|or|to|for|of|it|this|that|"
    r"\w+ing|\w+ed)$",
    re.IGNORECASE,
)
# "my name is john smith", "call me Jo", "Mr Brown": names the NER misses in lower case.
_NAME_CUE = re.compile(
    rf"\b(?:my name is|my name's|name is|call me|signed|regards,?|(?:mr|mrs|ms|miss|dr)\.?)"
    rf"\s+(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD})?)",
    re.IGNORECASE,
)
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
    for m in _NAME_CUE.finditer(text):
        words = m.group("name").split()
        while words and _NOT_A_NAME.match(words[-1]):
            words.pop()
        if words and not _NOT_A_NAME.match(words[0]):
            start = m.start("name")
            add("PERSON", start, start + len(" ".join(words)))
    if doc is not None:
        for ent in doc.ents:
            if ent.label_ == "PERSON" and not _ORDER_ID.search(ent.text):
                add("PERSON", *_whole_name(doc, ent))
    return sorted(spans, key=lambda s: s.start)


def may_name_someone(text: str) -> bool:
    """Whether spaCy's NER is worth running: a capitalised word past the first one."""
    return bool(_CAPITALISED.search(text) or _FIRST_TWO_CAPITALISED.match(text))


def _is_name_token(token) -> bool:
    return token.text.istitle() and token.is_alpha and not token.is_stop


def _whole_name(doc, ent) -> tuple[int, int]:
    """The small spaCy model often tags only the surname; take adjacent capitalised names."""
    start, end = ent.start, ent.end
    while (
        start > 0 and _is_name_token(doc[start - 1]) and doc[start - 1].ent_type_ in ("", "PERSON")
    ):
        start -= 1
    while end < len(doc) and _is_name_token(doc[end]) and doc[end].ent_type_ in ("", "PERSON"):
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
