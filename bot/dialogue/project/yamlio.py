"""Read a Rasa project's YAML as Rasa reads it: YAML 1.2 scalars, duplicate keys refused.

Rasa parses its files with ruamel.yaml in YAML 1.2 mode, where ``yes``/``no``/``on``/``off``
are strings, ``010`` is ten and ``1:30`` is text. PyYAML's SafeLoader is YAML 1.1 and would
turn ``value: yes`` (a slot mapping in RasaHQ's financial demo) into ``True``, so this module
has a loader with the YAML 1.2 core schema's booleans and numbers. The result is a
:class:`nlp.yamlfile.YamlDoc`, so every error can name file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from nlp.yamlfile import BotFileError, YamlDoc

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_TAG_BOOL = "tag:yaml.org,2002:bool"
_TAG_INT = "tag:yaml.org,2002:int"
_TAG_FLOAT = "tag:yaml.org,2002:float"


# libyaml's parser when PyYAML has it (five times faster on a 900-line test stories file);
# the scalar resolution below is Python either way
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RasaYamlLoader(_BASE):
    """SafeLoader with YAML 1.2 core-schema booleans, integers and floats."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:  # noqa: D102
        text = str(self.construct_scalar(node))
        if text.lower().startswith(("0x", "+0x", "-0x")):
            return int(text, 16)
        return int(text, 10)  # "010" is ten in YAML 1.2, not eight


RasaYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_TAG_BOOL, _TAG_INT, _TAG_FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
RasaYamlLoader.add_implicit_resolver(_TAG_BOOL, _BOOL, list("tTfF"))
RasaYamlLoader.add_implicit_resolver(_TAG_INT, _INT, list("-+0123456789"))
RasaYamlLoader.add_implicit_resolver(_TAG_FLOAT, _FLOAT, list("-+0123456789."))
RasaYamlLoader.add_constructor(_TAG_INT, RasaYamlLoader.construct_yaml_int)

_ENV_VAR = re.compile(r"\$\{([^}]+)\}")


def read_rasa_yaml(path: Path, env: Mapping[str, str] | None = None) -> YamlDoc:
    """Parse ``path``; a syntax error or a duplicate key is a BotFileError with file and line.

    ``env``: replace ``${NAME}`` in string values with ``env[NAME]``, as Rasa does with the
    environment for config.yml, endpoints.yml and credentials.yml (an unset one is an error);
    None leaves them as written. The caller hands the environment in (``Config.environ``).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BotFileError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise BotFileError(f"{path}:1: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    loader = RasaYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(path=path, data={}, _node=yaml.MappingNode("tag:yaml.org,2002:map", []))
        _refuse_duplicate_keys(path, node)
        if env is not None:
            _expand_env(path, node, env)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "cannot be parsed"
        raise BotFileError(f"{path}:{line}: invalid YAML: {problem}; fix the syntax "
                           "(indentation, a missing ':' or an unclosed quote)") from exc
    except yaml.YAMLError as exc:
        raise BotFileError(f"{path}:1: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return YamlDoc(path=path, data=data, _node=node)


def _refuse_duplicate_keys(path: Path, node: yaml.Node) -> None:
    # ruamel (Rasa's reader) refuses duplicate keys; PyYAML would silently keep the last one.
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in seen:
                        raise BotFileError(
                            f"{path}:{key.start_mark.line + 1}: duplicate key '{key.value}' "
                            f"(first on line {seen[key.value]}); keep one of them")
                    seen[key.value] = key.start_mark.line + 1
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _expand_env(path: Path, node: yaml.Node, env: Mapping[str, str]) -> None:
    """Replace ${NAME} in the string scalars of ``node`` (before construction, so an unset
    variable is reported on its own line)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            if current.tag == "tag:yaml.org,2002:str" and "${" in current.value:
                current.value = _ENV_VAR.sub(
                    lambda m, n=current: _env_value(path, n, m.group(1), env), current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(value for _, value in current.value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _env_value(path: Path, node: yaml.ScalarNode, name: str, env: Mapping[str, str]) -> str:
    if name not in env:
        raise BotFileError(f"{path}:{node.start_mark.line + 1}: environment variable '{name}' "
                           f"is not set; set it, or write the value instead of ${{{name}}}")
    return env[name]
