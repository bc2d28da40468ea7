"""Carebot's own packages never reach into the demo shop's `actions` package.

When Carebot serves another Rasa project, the name `actions` is that project's own package, so
an import of it from bot/ or analytics/ would load a stranger's code (or fail). Imports inside
functions count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["bot", "analytics", "nlp"])
def test_carebots_packages_never_import_the_shops_actions(package):
    offenders = {
        str(path.relative_to(REPO)): sorted(m for m in _imported_modules(path)
                                            if m == "actions" or m.startswith("actions."))
        for path in _modules(package)
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_analytics_reads_no_environment():
    readers = [
        str(path.relative_to(REPO)) for path in _modules("analytics")
        if any(isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
               for node in ast.walk(ast.parse(path.read_text(), str(path))))
    ]
    assert readers == []
