"""Entity annotations in example and test-story texts, read as Rasa reads them.

``[Berlin](city)``, ``[Berlin](city:Berlin_DE)`` (a synonym value) and
``[LA]{"entity": "city", "role": "to", "value": "Los Angeles"}`` (with role and group).
"""

from __future__ import annotations

import json
import re

# the same pattern as rasa/shared/nlu/training_data/entities_parser.py
ENTITY_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<dict>[^}]+?)\})"
)
_INTENT_PAYLOAD = re.compile(r"^/(?P<intent>[^{@\s]+)(?P<entities>\{.*\})?\s*$", re.DOTALL)


class AnnotationError(ValueError):
    """An annotation that is not valid; the message says which and why."""


def parse_annotated(text: str) -> tuple[str, list[dict]]:
    """The plain text and its entities (``entity``, ``value``, ``start``, ``end`` and, when
    given, ``role`` and ``group``)."""
    entities: list[dict] = []
    plain: list[str] = []
    pos = 0
    length = 0
    for match in ENTITY_ANNOTATION.finditer(text):
        before = text[pos:match.start()]
        plain.append(before)
        length += len(before)
        surface = match.group("text")
        entity = _attributes(match, surface)
        entity.update(start=length, end=length + len(surface))
        entities.append(entity)
        plain.append(surface)
        length += len(surface)
        pos = match.end()
    plain.append(text[pos:])
    return "".join(plain), entities


def _attributes(match: re.Match, surface: str) -> dict:
    if match.group("dict") is None:
        return {"entity": match.group("entity").strip(),
                "value": (match.group("value") or surface).strip() or surface}
    source = "{" + match.group("dict") + "}"
    try:
        spec = json.loads(source)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"entity annotation {match.group(0)!r} is not valid JSON "
                              f"({exc.msg}); write it like "
                              '[text]{"entity": "name", "value": "..."}') from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str):
        raise AnnotationError(f'entity annotation {match.group(0)!r} needs an "entity" name')
    unknown = set(spec) - {"entity", "value", "role", "group"}
    if unknown:
        raise AnnotationError(f"entity annotation {match.group(0)!r} has unknown keys "
                              f"{sorted(unknown)}; use entity, value, role and group")
    entity = {"entity": spec["entity"], "value": spec.get("value", surface)}
    for key in ("role", "group"):
        if spec.get(key) is not None:
            entity[key] = str(spec[key])
    return entity


def parse_intent_payload(text: str) -> tuple[str, list[dict]] | None:
    """``/inform{"city": "Berlin"}`` -> ("inform", [{"entity": "city", "value": "Berlin"}]);
    None when ``text`` is not such a payload."""
    match = _INTENT_PAYLOAD.match(text.strip())
    if not match:
        return None
    entities: list[dict] = []
    if match.group("entities"):
        try:
            values = json.loads(match.group("entities"))
        except json.JSONDecodeError as exc:
            raise AnnotationError(f"the entities of payload {text!r} are not valid JSON "
                                  f"({exc.msg})") from exc
        if not isinstance(values, dict):
            raise AnnotationError(f"the entities of payload {text!r} must be a JSON object")
        for name, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                entities.append({"entity": name, "value": item})
    return match.group("intent"), entities
