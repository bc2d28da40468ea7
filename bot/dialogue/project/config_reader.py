"""Rasa's config.yml: recipe, language, assistant_id, pipeline and policies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.dialogue.project.components import (
    PIPELINE_COMPONENTS,
    POLICIES,
    unknown_component_hint,
)
from bot.dialogue.project.model import Component, RasaConfig, SourceRef
from bot.dialogue.project.yamlio import read_rasa_yaml
from nlp.yamlfile import YamlDoc

CONFIG_KEYS = ("version", "recipe", "language", "assistant_id", "pipeline", "policies")
RECIPES = ("default.v1",)
# Carebot's own settings, which older Carebot versions read from config.yml.
CAREBOT_KEYS = ("escalation", "allowed_origins", "recommender", "business_hours", "alerts")
GRAPH_KEYS = ("train", "predict", "nlu_target", "core_target")


def read_config(root: Path, env: Mapping[str, str] | None = None) -> RasaConfig:
    """config.yml (or config.yaml) of ``root``; Rasa's defaults when there is none."""
    path = next((root / n for n in ("config.yml", "config.yaml") if (root / n).is_file()), None)
    if path is None:
        return RasaConfig()
    doc = read_rasa_yaml(path, env=env or {})
    data = doc.data
    if data in (None, {}):
        return RasaConfig(path=path)
    if not isinstance(data, dict):
        raise doc.error("config.yml must be a mapping with language:, pipeline: and policies:")
    for key in data:
        if key in CAREBOT_KEYS:
            raise doc.error(
                f"'{key}' is a Carebot setting, and Carebot's settings now live in carebot.yml; "
                f"move '{key}:' (and any other Carebot settings) from config.yml to carebot.yml, "
                "and keep Rasa's recipe/language/pipeline/policies in config.yml", key)
        if key in GRAPH_KEYS:
            raise doc.error(f"'{key}' belongs to Rasa's graph.v1 recipe, which Carebot does not "
                            "run; use recipe: default.v1 with pipeline: and policies:", key)
    doc.check_keys(data, CONFIG_KEYS, where="config.yml")
    recipe = str(data.get("recipe") or "default.v1")
    if recipe not in RECIPES:
        raise doc.error(f"recipe '{recipe}' is not supported; use recipe: default.v1", "recipe")
    language = data.get("language") or "en"
    if not isinstance(language, str):
        raise doc.error("language must be a language code such as en", "language")
    assistant_id = data.get("assistant_id")
    return RasaConfig(
        recipe=recipe,
        language=language,
        assistant_id=None if assistant_id is None else str(assistant_id),
        pipeline=_components(doc, data.get("pipeline"), "pipeline", set(PIPELINE_COMPONENTS)),
        policies=_components(doc, data.get("policies"), "policies", set(POLICIES)),
        path=path,
    )


def _components(doc: YamlDoc, items: Any, section: str, known: set[str]) -> list[Component]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise doc.error(f"'{section}' must be a list of '- name: ComponentName' items", section)
    components = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise doc.error(f"each item of '{section}' needs 'name: <component>'", section, i)
        name = item["name"]
        if name not in known:
            raise doc.error(f"{unknown_component_hint(name, section)}", section, i, "name")
        options = {k: v for k, v in item.items() if k != "name"}
        components.append(Component(name, options, SourceRef(doc.path,
                                                             doc.line_of(section, i))))
    return components
