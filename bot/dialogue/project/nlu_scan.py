"""What the NLU data names, for the domain (retrieval intents) and `carebot data validate`.

This reads only names: intents with their example counts, annotated entities with roles and
groups, synonyms, regexes and lookups. Training reads the examples themselves (nlp/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.dialogue.project.annotations import ENTITY_ANNOTATION, AnnotationError, parse_annotated
from bot.dialogue.project.model import SourceRef
from nlp.yamlfile import YamlDoc


@dataclass
class NluSummary:
    intents: dict[str, int] = field(default_factory=dict)  # intent (faq/ask_price too) -> examples
    intent_sources: dict[str, SourceRef] = field(default_factory=dict)
    entities: dict[str, SourceRef] = field(default_factory=dict)  # annotated entity -> first use
    roles: dict[str, set[str]] = field(default_factory=dict)  # entity -> roles annotated
    groups: dict[str, set[str]] = field(default_factory=dict)
    examples: list[tuple[str, str, SourceRef]] = field(default_factory=list)  # text, intent, where
    problems: list[str] = field(default_factory=list)  # bad annotations, one line each

    @property
    def retrieval_intents(self) -> set[str]:
        return {name.split("/", 1)[0] for name in self.intents if "/" in name}


def scan_nlu(docs: list[YamlDoc]) -> NluSummary:
    summary = NluSummary()
    for doc in docs:
        blocks = doc.data.get("nlu")
        if not isinstance(blocks, list):
            continue
        for i, block in enumerate(blocks):
            if not isinstance(block, dict) or not isinstance(block.get("intent"), str):
                continue
            intent = block["intent"].strip()
            source = SourceRef(doc.path, doc.line_of("nlu", i))
            summary.intent_sources.setdefault(intent, source)
            lines = _example_lines(doc, i, block.get("examples"))
            summary.intents[intent] = summary.intents.get(intent, 0) + len(lines)
            for line, text in lines:
                where = SourceRef(doc.path, line)
                if ENTITY_ANNOTATION.search(text):
                    try:
                        plain, entities = parse_annotated(text)
                    except AnnotationError as exc:
                        summary.problems.append(f"{where}: {exc}")
                        continue
                else:
                    plain, entities = text, []
                summary.examples.append((plain, intent, where))
                for entity in entities:
                    name = entity["entity"]
                    summary.entities.setdefault(name, where)
                    if "role" in entity:
                        summary.roles.setdefault(name, set()).add(entity["role"])
                    if "group" in entity:
                        summary.groups.setdefault(name, set()).add(entity["group"])
    return summary


def _example_lines(doc: YamlDoc, i: int, examples) -> list[tuple[int, str]]:
    first = doc.line_of("nlu", i, "examples")
    if isinstance(examples, str):
        # a '|' block starts on the line after its key
        return [(first + 1 + k, line.strip()[2:].strip())
                for k, line in enumerate(examples.splitlines())
                if line.strip().startswith("- ")]
    if isinstance(examples, list):  # Rasa also takes '- text: ...' items with metadata
        return [(doc.line_of("nlu", i, "examples", k), str(item.get("text", "")))
                for k, item in enumerate(examples) if isinstance(item, dict)]
    return []
