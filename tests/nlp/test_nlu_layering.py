"""nlp/ is the lowest layer: it imports nothing of bot/, analytics/ or actions/, reads no
environment, and sets none when imported."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

NLP = Path(__file__).resolve().parents[2] / "nlp"
MODULES = sorted(p.stem for p in NLP.glob("*.py") if p.stem != "__init__")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_nlp_module_imports_a_higher_layer():
    for path in NLP.glob("*.py"):
        higher = {
            m for m in imported_modules(path) if m.split(".")[0] in ("bot", "analytics", "actions")
        }
        assert not higher, f"{path.name} imports {higher}"


def test_no_nlp_module_reads_the_environment():
    for path in NLP.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "os.environ" not in source and "getenv" not in source, path.name


def test_importing_every_nlp_module_leaves_the_environment_alone():
    code = (
        "import importlib, json, os; before = dict(os.environ); "
        f"[importlib.import_module('nlp.' + m) for m in {MODULES!r}]; "
        "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "PYTHONPATH": str(NLP.parent)},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
