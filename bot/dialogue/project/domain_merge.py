"""Read domain.yml, or every YAML file of a domain/ folder, and merge them as Rasa does.

Rasa merges a domain folder file by file: list sections (intents, entities, actions,
e2e_actions) are joined without duplicates, mapping sections (slots, forms, responses) are
joined with the first file's entry winning, and the first session_config that differs from
the default is kept. Files are read in sorted path order so the result does not depend on
the file system. Each entry remembers its file and key path, so later errors name the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.dialogue.project.model import SourceRef
from bot.dialogue.project.yamlio import read_rasa_yaml
from nlp.yamlfile import BotFileError, YamlDoc

DOMAIN_KEYS = (
    "version", "intents", "entities", "slots", "forms", "responses", "actions",
    "session_config", "e2e_actions", "config",
)
LIST_SECTIONS = ("intents", "entities", "actions", "e2e_actions")
MAP_SECTIONS = ("slots", "forms", "responses")
# Keys of older Rasa versions, with what to write instead.
OLD_KEYS = {
    "templates": "Rasa 1.x called responses 'templates'; rename the key to responses:",
}
DEFAULT_SESSION = {"session_expiration_time": 60, "carry_over_slots_to_new_session": True}


@dataclass
class Entry:
    """One item of a domain section, with the file and key path it came from."""

    name: str
    value: Any
    doc: YamlDoc
    path: tuple

    def error(self, message: str, *more: str | int) -> BotFileError:
        return self.doc.error(message, *self.path, *more)

    def line(self, *more: str | int) -> int:
        return self.doc.line_of(*self.path, *more)

    @property
    def source(self) -> SourceRef:
        return SourceRef(self.doc.path, self.line())


@dataclass
class MergedDomain:
    sections: dict[str, dict[str, Entry]] = field(
        default_factory=lambda: {k: {} for k in (*LIST_SECTIONS, *MAP_SECTIONS)})
    session_config: Entry | None = None
    version: str | None = None
    config: dict = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def domain_files(root: Path) -> list[Path]:
    """domain.yml (or domain.yaml), else every YAML file under domain/; [] when neither."""
    for name in ("domain.yml", "domain.yaml"):
        if (root / name).is_file():
            return [root / name]
    folder = root / "domain"
    if folder.is_dir():
        return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml")
                      and p.is_file())
    return []


def read_domain(root: Path) -> MergedDomain:
    files = domain_files(root)
    if not files:
        raise BotFileError(f"{root}: no domain.yml and no domain/ folder; this is not a Rasa "
                           "project (run `carebot init` to make one)")
    if (root / "domain.yml").is_file() and (root / "domain").is_dir():
        merged = MergedDomain(warnings=[f"{root / 'domain'}: ignored because domain.yml "
                                        "exists; keep one of them"])
    else:
        merged = MergedDomain()
    for path in files:
        _merge_file(merged, read_rasa_yaml(path))
        merged.files.append(path)
    return merged


def _merge_file(merged: MergedDomain, doc: YamlDoc) -> None:
    data = doc.data
    if data in (None, {}):
        return
    if not isinstance(data, dict):
        raise doc.error("a domain file must be a mapping of sections (intents:, responses:...)")
    for key, hint in OLD_KEYS.items():
        if key in data:
            raise doc.error(hint, key)
    doc.check_keys(data, DOMAIN_KEYS, where="the domain")
    if data.get("version") is not None and merged.version is None:
        merged.version = str(data["version"])
    for section in LIST_SECTIONS:
        _merge_list(merged, doc, section, data.get(section))
    for section in MAP_SECTIONS:
        _merge_map(merged, doc, section, data.get(section))
    if data.get("session_config") is not None:
        _merge_session(merged, doc, data["session_config"])
    if data.get("config") is not None:
        doc.check_keys(data["config"], ("store_entities_as_slots",), "config",
                       where="the domain's config")
        merged.config = {**data["config"], **merged.config}


def _merge_list(merged: MergedDomain, doc: YamlDoc, section: str, items: Any) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        raise doc.error(f"'{section}' must be a list (one '- name' per line)", section)
    seen_here: set[str] = set()
    for i, item in enumerate(items):
        if isinstance(item, dict) and len(item) == 1:
            name, value = next(iter(item.items()))
        elif isinstance(item, str) and item.strip():
            name, value = item, None
        else:
            raise doc.error(f"each item of '{section}' must be a name, or a name with its "
                            "settings (e.g. '- greet: {use_entities: []}')", section, i)
        name = str(name)
        if name in seen_here:
            raise doc.error(f"'{name}' is listed twice under {section}; keep one", section, i)
        seen_here.add(name)
        _add(merged, section, Entry(name, value, doc, (section, i)))


def _merge_map(merged: MergedDomain, doc: YamlDoc, section: str, items: Any) -> None:
    if items is None:
        return
    if section == "forms" and isinstance(items, list):
        raise doc.error("forms must be a mapping 'form_name: {required_slots: [...]}' (a list "
                        "of form names is the Rasa 1.x format)", section)
    if not isinstance(items, dict):
        raise doc.error(f"'{section}' must be a mapping of names to their definitions", section)
    for name, value in items.items():
        _add(merged, section, Entry(str(name), value, doc, (section, name)))


def _add(merged: MergedDomain, section: str, entry: Entry) -> None:
    existing = merged.sections[section].get(entry.name)
    if existing is None:
        merged.sections[section][entry.name] = entry
        return
    singular = {"entities": "entity", "e2e_actions": "e2e action"}.get(section, section[:-1])
    merged.warnings.append(
        f"{entry.source}: {singular} '{entry.name}' is also defined in {existing.source}; "
        "the first one is used, remove the other")


def _merge_session(merged: MergedDomain, doc: YamlDoc, value: Any) -> None:
    entry = Entry("session_config", value, doc, ("session_config",))
    current = merged.session_config
    if current is None or (current.value == DEFAULT_SESSION and value != DEFAULT_SESSION):
        merged.session_config = entry
