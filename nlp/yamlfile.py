"""YAML files that remember where each key was written, so errors can name file and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class BotFileError(ValueError):
    """A bot definition file (domain.yml, data/*.yml) is malformed or uses an unsupported key."""


@dataclass
class YamlDoc:
    path: Path
    data: Any
    _node: yaml.Node

    def line_of(self, *key_path: str | int) -> int:
        """1-based line of the value at ``key_path`` (or of its parent when it is missing)."""
        node = self._node
        line = node.start_mark.line + 1
        for key in key_path:
            child = _child(node, key)
            if child is None:
                break
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        return line

    def error(self, message: str, *key_path: str | int) -> BotFileError:
        return BotFileError(f"{self.path}:{self.line_of(*key_path)}: {message}")

    def check_keys(
        self, mapping: Any, allowed: Iterable[str], *key_path: str | int, where: str = ""
    ) -> None:
        """Reject keys of ``mapping`` (found at ``key_path``) that are not in ``allowed``."""
        if not isinstance(mapping, dict):
            raise self.error(f"expected a mapping{' in ' + where if where else ''}", *key_path)
        allowed = set(allowed)
        for key in mapping:
            if key not in allowed:
                raise self.error(
                    f"unsupported key '{key}'{' in ' + where if where else ''}; "
                    f"Carebot supports: {', '.join(sorted(allowed))}",
                    *key_path,
                    key,
                )


def _child(node: yaml.Node, key: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key or (isinstance(key, int) and k.value == str(key)):
                return k, v
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return None, node.value[key]
    return None


def read_yaml(path: str | Path) -> YamlDoc:
    """Parse ``path``; a syntax error becomes a BotFileError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BotFileError(f"{path}: file not found") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 0
        raise BotFileError(f"{path}:{line}: invalid YAML: {exc.problem}") from exc
    if node is None:
        node = yaml.MappingNode("tag:yaml.org,2002:map", [])
        data = {}
    return YamlDoc(path=path, data=data, _node=node)
