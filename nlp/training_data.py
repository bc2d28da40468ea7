"""Read Rasa 3.x ``nlu.yml`` files: intent examples with entity annotations, synonyms,
regexes and lookup tables. Unsupported keys are errors naming the file and line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from nlp.yamlfile import BotFileError, YamlDoc, read_yaml

TOP_LEVEL_KEYS = ("version", "nlu")
BLOCK_KINDS = ("intent", "synonym", "regex", "lookup")
BLOCK_KEYS = (*BLOCK_KINDS, "examples", "metadata")

# [text](entity) / [text](entity:value) / [text]{"entity": ..., "value": ...}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


class EntitySpan(NamedTuple):
    start: int
    end: int
    entity: str
    value: str


@dataclass
class Example:
    text: str
    intent: str
    entities: list[EntitySpan] = field(default_factory=list)


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # variant (lower-case) -> canonical
    regexes: dict[str, list[str]] = field(default_factory=dict)  # name -> patterns
    lookups: dict[str, list[str]] = field(default_factory=dict)  # entity -> values

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    @property
    def entity_names(self) -> list[str]:
        return sorted({s.entity for e in self.examples for s in e.entities})


def parse_example(text: str, intent: str = "") -> Example:
    """Strip Rasa entity annotations from ``text``, remembering the spans they marked."""
    plain: list[str] = []
    spans: list[EntitySpan] = []
    pos = 0
    length = 0
    for match in _ANNOTATION.finditer(text):
        before = text[pos : match.start()]
        plain.append(before)
        length += len(before)
        surface = match.group("text")
        entity, value = _annotation_target(match, surface)
        spans.append(EntitySpan(length, length + len(surface), entity, value))
        plain.append(surface)
        length += len(surface)
        pos = match.end()
    plain.append(text[pos:])
    return Example(text="".join(plain), intent=intent, entities=spans)


def _annotation_target(match: re.Match, surface: str) -> tuple[str, str]:
    if match.group("json"):
        try:
            spec = json.loads(match.group("json"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid entity annotation {match.group(0)!r}: {exc}") from exc
        if not isinstance(spec, dict) or "entity" not in spec:
            raise ValueError(f'entity annotation {match.group(0)!r} needs an "entity" key')
        return str(spec["entity"]), str(spec.get("value", surface))
    short = match.group("short")
    entity, _, value = short.partition(":")
    return entity.strip(), (value.strip() or surface)


def load_nlu_files(paths: list[str | Path]) -> TrainingData:
    """Parse and merge Rasa 3.x NLU files (a project may split ``data/`` across many)."""
    data = TrainingData()
    for path in paths:
        _read_into(read_yaml(path), data)
    return data


def _read_into(doc: YamlDoc, data: TrainingData) -> None:
    if doc.data is None or doc.data == {}:
        return
    doc.check_keys(doc.data, TOP_LEVEL_KEYS, where="the top level")
    blocks = doc.data.get("nlu") or []
    if not isinstance(blocks, list):
        raise doc.error("'nlu' must be a list of intent/synonym/regex/lookup blocks", "nlu")
    for i, block in enumerate(blocks):
        doc.check_keys(block, BLOCK_KEYS, "nlu", i, where="an nlu block")
        kinds = [k for k in BLOCK_KINDS if k in block]
        if len(kinds) != 1:
            raise doc.error(
                "each nlu block needs exactly one of: " + ", ".join(BLOCK_KINDS), "nlu", i
            )
        kind = kinds[0]
        name = block[kind]
        if not isinstance(name, str) or not name.strip():
            raise doc.error(f"'{kind}' needs a name", "nlu", i, kind)
        lines = _examples(doc, block, i)
        items = [text for _, text in lines]
        if kind == "intent":
            for line, text in lines:
                try:
                    data.examples.append(parse_example(text, name))
                except ValueError as exc:
                    raise BotFileError(f"{doc.path}:{line}: {exc}") from exc
        elif kind == "synonym":
            for text in items:
                data.synonyms[text.lower()] = name
        elif kind == "regex":
            for line, pattern in lines:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise BotFileError(
                        f"{doc.path}:{line}: invalid regular expression {pattern!r}: {exc}"
                    ) from exc
            data.regexes.setdefault(name, []).extend(items)
        else:
            data.lookups.setdefault(name, []).extend(items)


def _examples(doc: YamlDoc, block: dict[str, Any], i: int) -> list[tuple[int, str]]:
    """(line number, text) of each '- ' item; a '|' block starts on the line after its key."""
    raw = block.get("examples")
    if raw is None:
        raise doc.error("block has no 'examples'", "nlu", i)
    if not isinstance(raw, str):
        raise doc.error("'examples' must be a block string of '- ' lines", "nlu", i, "examples")
    first = doc.line_of("nlu", i, "examples") + 1
    items = []
    for offset, line in enumerate(raw.splitlines()):
        line = line.strip()
        if not line:
            continue
        if not line.startswith("- "):
            raise BotFileError(
                f"{doc.path}:{first + offset}: each example must start with '- ', got {line[:40]!r}"
            )
        items.append((first + offset, line[2:].strip()))
    return items


__all__ = [
    "BotFileError",
    "EntitySpan",
    "Example",
    "TrainingData",
    "load_nlu_files",
    "parse_example",
]
