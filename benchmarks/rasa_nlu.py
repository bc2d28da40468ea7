"""Train the NLU of real Rasa projects and measure it on their own test stories.

    python benchmarks/rasa_nlu.py [--base-dir models] [PROJECT_DIR ...]

Default projects: copies of ../shared/rasa_bots/{rasa-init,financial-demo} in a temporary
folder (the originals are never touched). Per project: NLU training time with the base
models already built (the issue's target: <= 30 s on 2 cores for a rasa-init-sized
project), intent accuracy on the ``user:`` turns of tests/test_*.yml, and recall of the
entities those turns annotate (entity and value).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nlp.pipeline import NLU  # noqa: E402
from nlp.train import base_models_ready, train_project  # noqa: E402
from nlp.training_data import parse_example  # noqa: E402

RASA_BOTS = REPO.parent / "shared" / "rasa_bots"


def nlu_files(project: Path) -> list[Path]:
    files = []
    for path in sorted((project / "data").rglob("*.y*ml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(content, dict) and content.get("nlu"):
            files.append(path)
    return files


def test_turns(project: Path) -> list[tuple[str, str, list]]:
    """(text, intent, annotated entities) of every user turn of the test stories."""
    turns = []
    for path in sorted((project / "tests").glob("test_*.y*ml")):
        for story in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stories", []):
            for step in story.get("steps", []):
                if "user" in step and step.get("intent"):
                    example = parse_example(step["user"].strip(), step["intent"])
                    turns.append((example.text, example.intent, example.entities))
    return turns


def measure(project: Path, base_dir: Path, models_dir: Path) -> dict:
    config = yaml.safe_load((project / "config.yml").read_text(encoding="utf-8")) or {}
    started = time.perf_counter()
    report = train_project(
        nlu_files(project), config.get("pipeline") or [], models_dir, base_dir, progress=False
    )
    seconds = time.perf_counter() - started
    nlu = NLU.load(models_dir, base_dir=base_dir)
    turns = test_turns(project)
    parsed = nlu.parse_batch([t for t, _, _ in turns])
    right = sum(p.intent.name == intent for p, (_, intent, _) in zip(parsed, turns, strict=True))
    wanted = found = 0
    for p, (_, _, spans) in zip(parsed, turns, strict=True):
        got = {(e.entity, str(e.value).lower()) for e in p.entities}
        wanted += len(spans)
        found += sum((s.entity, s.value.lower()) in got for s in spans)
    misses = [
        f"{text!r}: {intent} -> {p.intent.name}"
        for p, (text, intent, _) in zip(parsed, turns, strict=True)
        if p.intent.name != intent
    ]
    return {
        "project": project.name,
        "examples": report.examples,
        "train_s": seconds,
        "turns": len(turns),
        "intent_right": right,
        "entities": (found, wanted),
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument("--base-dir", type=Path, default=REPO / "models")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not base_models_ready(args.base_dir):
        sys.exit(f"no base models in {args.base_dir}: run `carebot train` once first")
    with tempfile.TemporaryDirectory() as tmp:
        projects = args.projects
        if not projects:
            projects = []
            for name in ("rasa-init", "financial-demo"):
                projects.append(Path(shutil.copytree(RASA_BOTS / name, Path(tmp) / name)))
        print(f"{'project':<16} {'examples':>8} {'train s':>8} {'intent acc':>16} {'entities':>10}")
        for project in projects:
            r = measure(project, args.base_dir, Path(tmp) / "models" / project.name)
            acc = f"{r['intent_right']}/{r['turns']} {r['intent_right'] / max(r['turns'], 1):.1%}"
            ents = "{}/{}".format(*r["entities"])
            print(
                f"{r['project']:<16} {r['examples']:>8} {r['train_s']:>8.1f} {acc:>16} {ents:>10}"
            )
            for miss in r["misses"]:
                print(f"    miss {miss}")


if __name__ == "__main__":
    main()
