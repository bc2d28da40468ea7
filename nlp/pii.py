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
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,5}(?:[\s.-]?\d{2,5}){1,4}(?!\w)"
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
# Written-out emails people use to dodge filters: john(at)example(dot)com, jo [at] x [dot] io,
# "jo at example dot com" (the spelled-out form needs "dot" and a domain ending).
_AT = r"(?:\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+|\.)"
_OBFUSCATED_EMAIL = re.compile(
    rf"\b[A-Za-z0-9._%+-]+{_AT}[A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}[A-Za-z]{{2,6}}\b",
    re.IGNORECASE,
)
# IBAN: country, check digits, then 11-30 letters or digits (groups of four with spaces);
# the ISO 7064 mod-97 check keeps order numbers and references out.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b",
                   re.IGNORECASE)
# US social security numbers (078-05-1120), and nine digits after an "ssn" cue; UK National
# Insurance numbers (QQ 12 34 56 C).
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}[- ](?!00)\d{2}[- ](?!0000)\d{4}\b")
_SSN_CUE = re.compile(r"\b(?:ssn|social security(?: number| no\.?)?)\b\D{0,15}?(\d{9})\b",
                      re.IGNORECASE)
_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
                   r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE)
# UK postcodes (NW1 6XE, sw1a 1aa): a full one points at a handful of houses.
_UK_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b",
                          re.IGNORECASE)
# A capitalised word that is not the message's first word (nor "I", "I'm"): maybe a name.
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)(?<![.!?])\b(?!I')[A-Z][a-z'-]*[a-z]\b")
_FIRST_TWO_CAPITALISED = re.compile(r"^\s*[A-Z][a-z'-]+\s+[A-Z][a-z'-]+\b")
_NAME_WORD = r"[A-Za-z][a-z'-]+"
_NOT_A_NAME = re.compile(
    r"(?:the|a|an|on|in|at|not|still|here|there|from|with|and|also|very|so|really|just|"
    r"sorry|happy|sad|angry|upset|fine|good|ok|okay|done|back|new|about|your|my|his|her|"
    r"their|please|thanks|thank|again|speaking|is|was|and|but|or|to|for|of|it|this|that|"
    r"sick|ill|away|out|home|busy|annoyed|furious|unhappy|pleased|waiting|going|coming|"
    r"asking|worried|travelling|abroad|right|wrong|sure|also|too|now|always|never|"
    r"allergic|pregnant|disabled|deaf|blind|vegan|able|unable|going|gone|the|one|who|"
    r"wants|needs|has|had|have|says|said|can|could|will|would|should|did|does|got|gets|told|"
    r"thinks|bought|lives|works|paid|made|sent|and|lot|much|mate|guys|all|everyone|"
    r"livid|interested|disappointed|confused|trying|looking|new|here|glad|afraid|"
    r"me|us|you|him|them|myself|yourself|someone|somebody|anyone|nobody|"
    r"\w+ing|\w+ed|\w+ly)$",
    re.IGNORECASE,
)
_RELATION = (r"wife|husband|partner|boyfriend|girlfriend|fianc[eé]e?|son|daughter|mother|"
             r"father|mum|mom|dad|sister|brother|friend|neighbou?r|colleague|boss|manager|"
             r"grandmother|grandfather|grandma|grandpa|aunt|uncle|cousin|niece|nephew|child|kid")
# "my name is john smith", "call me Jo", "Mr Brown": names the NER misses in lower case.
_NAME_CUE = re.compile(
    rf"\b(?:my name is|my name's|name is|call me|signed|regards,?|(?:mr|mrs|ms|miss|dr)\.?|"
    rf"(?:my|our)\s+(?:{_RELATION})(?:'s name is| is named| is called| named| called| is|,)|"
    rf"addressed to|deliver(?:ed)? to|thanks|thank you|in the name of|ask for)"
    rf"\s+(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})",
    re.IGNORECASE,
)
# Weaker cues ("my husband Carlos", "I'm Sophie"): only a capitalised word counts as a name.
_CAPITALISED_NAME_CUE = re.compile(
    rf"(?i:\b(?:my|our)\s+(?:{_RELATION})|\bi'm|\bi am)\s+"
    rf"(?P<name>[A-Z][a-z'-]+(?:\s+[A-Za-z][a-z'-]+)?)"
)
PLACEHOLDERS = {k: f"[{k}]" for k in ("EMAIL", "PHONE", "CARD", "ADDRESS", "PERSON", "IBAN",
                                       "SSN")}


def luhn_valid(digits: str) -> bool:
    """Payment card checksum (ISO/IEC 7812)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97."""
    value = candidate.replace(" ", "").upper()
    if not 15 <= len(value) <= 34:
        return False
    digits = "".join(str(int(ch, 36)) for ch in value[4:] + value[:4])
    return int(digits) % 97 == 1


def find_pii(text: str, doc=None) -> list[PIISpan]:
    """PII spans in ``text``; person names come from a spaCy ``doc`` of it when given."""
    spans: list[PIISpan] = []

    def add(kind: str, start: int, end: int) -> None:
        if not any(start < s.end and s.start < end for s in spans):
            spans.append(PIISpan(kind, start, end))

    for m in _EMAIL.finditer(text):
        add("EMAIL", m.start(), m.end())
    for m in _OBFUSCATED_EMAIL.finditer(text):
        add("EMAIL", m.start(), m.end())
    for m in _IBAN.finditer(text):
        found = m.group(0)
        # the spaced form may run on into the next words: try it shorter, group by group
        while found and not iban_valid(found):
            found = found.rsplit(" ", 1)[0] if " " in found else ""
        if found:
            add("IBAN", m.start(), m.start() + len(found))
    for m in _SSN.finditer(text):
        add("SSN", m.start(), m.end())
    for m in _SSN_CUE.finditer(text):
        add("SSN", m.start(1), m.end(1))
    for m in _NINO.finditer(text):
        add("SSN", m.start(), m.end())
    for m in _UK_POSTCODE.finditer(text):
        if not _ORDER_ID.fullmatch(m.group(0)):
            add("ADDRESS", m.start(), m.end())
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
    for m in [*_NAME_CUE.finditer(text), *_CAPITALISED_NAME_CUE.finditer(text)]:
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

    Without ``doc`` the shared spaCy pipeline is run to find person names, where a name may
    be (:func:`may_name_someone`, as the NLU pipeline decides for every message).
    """
    if doc is None and may_name_someone(text):
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
