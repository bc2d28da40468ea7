"""The house plan holds: the packages import in one direction, no two modules import each
other (imports inside functions count), and only the config modules read the environment."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "nlp", "analytics", "actions")
# who may import whom: a package sees only the packages below it
ALLOWED = {"nlp": set(), "analytics": {"nlp"}, "bot": {"nlp", "analytics"},
           "actions": {"nlp", "analytics"}}
ENV_READERS = {"bot.config", "actions.settings"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parts = parts[: len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            resolved = _resolve(name)
            if resolved and resolved != module and not module.startswith(resolved + "."):
                targets.add(resolved)
    return targets


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    return found


def test_no_two_modules_import_each_other():
    assert _cycles() == []


def test_each_package_imports_only_the_packages_below_it():
    wrong = sorted((module, target) for module, targets in GRAPH.items() for target in targets
                   if target.split(".")[0] != module.split(".")[0]
                   and target.split(".")[0] not in ALLOWED[module.split(".")[0]])
    assert wrong == []


def test_only_the_config_modules_read_the_environment():
    readers = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.add(module)
    assert readers <= ENV_READERS


def test_the_walk_finds_a_circle_when_there_is_one():
    # the check itself can fail: two modules that import each other are a cycle
    GRAPH["bot.config"].add("bot.app")
    try:
        assert any({"bot.app", "bot.config"} <= set(cycle) for cycle in _cycles())
    finally:
        GRAPH["bot.config"].discard("bot.app")


def test_every_test_module_has_a_name_of_its_own():
    # pytest imports test modules by basename (rootdir-relative, no packages): two files of
    # one name stop the whole run at collection
    names = [p.name for p in (REPO / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
