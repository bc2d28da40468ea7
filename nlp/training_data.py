"""Read Rasa 3.x NLU training data (``nlu:`` blocks of one or many files): intent examples
with entity annotations (roles and groups included), retrieval intents (``faq/ask_price``),
synonyms, regexes and lookup tables. Unsupported keys are errors naming the file and line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from nlp.yamlfile import BotFileError, YamlDoc, read_yaml

# A data file may also hold stories, rules and responses: those belong to the dialogue.
TOP_LEVEL_KEYS = ("version", "nlu", "stories", "rules", "responses")
BLOCK_KINDS = ("intent", "synonym", "regex", "lookup")
BLOCK_KEYS = (*BLOCK_KINDS, "examples", "metadata")
EXAMPLE_KEYS = ("text", "metadata")
RETRIEVAL_SEPARATOR = "/"

# [text](entity) / [text](entity:value) / [text]{"entity": ...} / [text][{...}, {...}]
_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+)\]"
    r"(?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\})|(?P<list>\[\s*\{.*?\}\s*\]))"
)


class EntitySpan(NamedTuple):
    start: int
    end: int
    entity: str
    value: str
    role: str | None = None
    group: str | None = None


@dataclass
class Example:
    text: str
    intent: str  # as written: "greet", or "faq/ask_price" for a retrieval intent
    entities: list[EntitySpan] = field(default_factory=list)

    @property
    def base_intent(self) -> str:
        """The intent the classifier learns: ``faq`` for ``faq/ask_price``."""
        return self.intent.split(RETRIEVAL_SEPARATOR, 1)[0]

    @property
    def is_retrieval(self) -> bool:
        return RETRIEVAL_SEPARATOR in self.intent


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # variant (lower-case) -> canonical
    regexes: dict[str, list[str]] = field(default_factory=dict)  # name -> patterns
    lookups: dict[str, list[str]] = field(default_factory=dict)  # entity -> values

    @property
    def intents(self) -> list[str]:
        return sorted({e.base_intent for e in self.examples})

    @property
    def retrieval_intents(self) -> list[str]:
        return sorted({e.base_intent for e in self.examples if e.is_retrieval})

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
        for entity, value, role, group in _annotation_targets(match, surface):
            spans.append(EntitySpan(length, length + len(surface), entity, value, role, group))
        plain.append(surface)
        length += len(surface)
        pos = match.end()
    plain.append(text[pos:])
    return Example(text="".join(plain), intent=intent, entities=spans)


def _annotation_targets(match: re.Match, surface: str) -> list[tuple]:
    if match.group("short"):
        entity, _, value = match.group("short").partition(":")
        return [(entity.strip(), value.strip() or surface, None, None)]
    raw = match.group("json") or match.group("list")
    try:
        specs = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid entity annotation {match.group(0)!r}: {exc}") from exc
    targets = []
    for spec in specs if isinstance(specs, list) else [specs]:
        if not isinstance(spec, dict) or "entity" not in spec:
            raise ValueError(f'entity annotation {match.group(0)!r} needs an "entity" key')
        unknown = set(spec) - {"entity", "value", "role", "group"}
        if unknown:
            raise ValueError(
                f"entity annotation {match.group(0)!r} has unsupported key "
                f"{sorted(unknown)[0]!r}; use entity, value, role, group"
            )
        role, group = spec.get("role"), spec.get("group")
        targets.append(
            (
                str(spec["entity"]),
                str(spec.get("value", surface)),
                None if role is None else str(role),
                None if group is None else str(group),
            )
        )
    return targets


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
    """(line number, text) of each example: '- ' lines of a block string, or a list of
    ``text:`` (and ``metadata:``) mappings."""
    raw = block.get("examples")
    if raw is None:
        raise doc.error("block has no 'examples'", "nlu", i)
    if isinstance(raw, list):
        items = []
        for j, item in enumerate(raw):
            doc.check_keys(item, EXAMPLE_KEYS, "nlu", i, "examples", j, where="an example")
            if not isinstance(item.get("text"), str):
                raise doc.error("an example needs a 'text'", "nlu", i, "examples", j)
            items.append((doc.line_of("nlu", i, "examples", j, "text"), item["text"].strip()))
        return items
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
