"""Find a project's training data (data/** at any depth) and test stories (tests/**), and
classify each YAML file by its top-level keys, as Rasa does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.dialogue.project.domain_merge import Entry
from bot.dialogue.project.yamlio import read_rasa_yaml
from nlp.yamlfile import YamlDoc

DATA_KEYS = ("version", "nlu", "stories", "rules", "responses")
TRAINING_KEYS = ("nlu", "stories", "rules", "responses")
DOMAIN_SECTIONS = ("intents", "entities", "slots", "forms", "actions", "session_config")
YAML_SUFFIXES = (".yml", ".yaml")


@dataclass
class DataFiles:
    nlu_docs: list[YamlDoc] = field(default_factory=list)
    story_docs: list[YamlDoc] = field(default_factory=list)
    test_docs: list[YamlDoc] = field(default_factory=list)
    responses: dict[str, Entry] = field(default_factory=dict)  # responses: in data files


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def find_data(root: Path, warnings: list[str]) -> DataFiles:
    found = DataFiles()
    for path in _files(root / "data"):
        if path.suffix not in YAML_SUFFIXES:
            hint = " (Rasa 3 reads only YAML training data)" if path.suffix in (".md", ".json") \
                else ""
            warnings.append(f"{path}: not a YAML file, not read{hint}")
            continue
        doc = read_rasa_yaml(path)
        data = doc.data
        if data in (None, {}):
            continue
        if not isinstance(data, dict) or not any(k in data for k in TRAINING_KEYS):
            domain_like = isinstance(data, dict) and any(k in data for k in DOMAIN_SECTIONS)
            hint = ("domain sections belong in domain.yml or the domain/ folder" if domain_like
                    else "training data files hold nlu:, stories:, rules: or responses:")
            warnings.append(f"{path}:1: not Rasa training data, not read; {hint}")
            continue
        doc.check_keys(data, DATA_KEYS, where="a training data file")
        if "nlu" in data:
            found.nlu_docs.append(doc)
        if "stories" in data or "rules" in data:
            found.story_docs.append(doc)
        responses = data.get("responses")
        if responses is not None:
            if not isinstance(responses, dict):
                raise doc.error("'responses' must be a mapping of response names to variations",
                                "responses")
            for name, value in responses.items():
                found.responses.setdefault(str(name), Entry(str(name), value, doc,
                                                            ("responses", name)))
    for path in _files(root / "tests"):
        if path.suffix not in YAML_SUFFIXES:
            continue  # tests/ usually holds Python tests and fixtures too
        doc = read_rasa_yaml(path)
        data = doc.data
        if isinstance(data, dict) and ("stories" in data or "rules" in data):
            doc.check_keys(data, DATA_KEYS, where="a test stories file")
            found.test_docs.append(doc)
        elif path.name.startswith("test_"):
            warnings.append(f"{path}:1: has no stories:, so it holds no test stories")
    return found
