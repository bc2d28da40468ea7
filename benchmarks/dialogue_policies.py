"""Dialogue-policy figures of issue 9 on the real Rasa projects in ../shared/rasa_bots.

    python benchmarks/dialogue_policies.py [--bots ../shared/rasa_bots] [--alone]

For each project (copied to a temporary folder first; the originals are never touched):
training time of config.yml's policies (Rasa's defaults when it lists none), then a replay
of tests/test_stories.yml as `rasa test` core does it: the stories' own intents and
entities as the parse (a perfect NLU), the ensemble predicting before every action, the
story's action recorded whatever was predicted. Actions are not run, so forms follow the
events the test story lists (their validation code plays no part). Prints turns and
stories passed, which policy made the predictions, per-prediction latency and any miss.
--alone also replays with each policy on its own (which turns each one covers).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.dialogue.policies import PolicyEnsemble  # noqa: E402
from bot.dialogue.project import load_project  # noqa: E402
from bot.dialogue.testing import run_tests  # noqa: E402

PROJECTS = ("rasa-init", "financial-demo")


def measure(root: Path, alone: bool) -> None:
    project = load_project(root)
    config = project.config.policies
    names = [c.name for c in config] or ["(Rasa's defaults)"]
    started = time.perf_counter()
    ensemble = PolicyEnsemble.train(project.stories, project.domain, config)
    train_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as saved:
        started = time.perf_counter()
        ensemble = PolicyEnsemble.load(ensemble.save(Path(saved) / "policies"))
        load_seconds = time.perf_counter() - started

    started = time.perf_counter()
    results = asyncio.run(run_tests(project, ensemble.predict, parse=None)).stories
    replay_seconds = time.perf_counter() - started
    turns = [t for r in results for t in r.checks]
    passed_turns = sum(t.ok for t in turns)
    passed_stories = sum(r.passed for r in results)
    rules = sum(s.kind == "rule" for s in project.stories)
    print(f"\n== {root.name}: {len(project.stories) - rules} stories, {rules} rules (after `or` "
          f"expansion), {len(project.test_stories)} test stories; policies: {', '.join(names)}")
    print(f"trained in {train_seconds:.2f} s; saved+loaded in {load_seconds:.2f} s")
    print(f"test-story turns passed {passed_turns}/{len(turns)}; "
          f"stories passed {passed_stories}/{len(results)}")
    per_turn = replay_seconds / max(len(turns), 1) * 1000
    print(f"prediction: {per_turn:.1f} ms per turn on average (replay of {len(turns)} turns)")
    print("predicted by: " + ", ".join(f"{n} {c}" for n, c in Counter(t.policy_name for t in turns).most_common()))
    for result in results:
        for turn in result.checks:
            if not turn.ok:
                print(f"  MISS {result.story.name}: expected {turn.expected}, predicted {turn.predicted} "
                      f"({turn.policy_name} {turn.confidence:.2f})")
    if ensemble.warnings:
        print("notes: " + " | ".join(ensemble.warnings))
    if alone:
        for policy in ensemble.policies:
            single = PolicyEnsemble([policy])
            single_report = asyncio.run(run_tests(project, single.predict, parse=None))
            single_turns = [t for r in single_report.stories for t in r.checks]
            print(f"  {policy.name} alone: {sum(t.ok for t in single_turns)}/{len(single_turns)} turns")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bots", type=Path, default=REPO.parent / "shared" / "rasa_bots")
    parser.add_argument("--alone", action="store_true", help="also replay each policy on its own")
    parser.add_argument("--repeat", type=int, default=1, help="train this many times; report the median")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name in PROJECTS:
            source = args.bots / name
            if not source.is_dir():
                print(f"{source}: missing, skipped")
                continue
            root = Path(shutil.copytree(source, Path(scratch) / name))
            if args.repeat > 1:
                project = load_project(root)
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    PolicyEnsemble.train(project.stories, project.domain, project.config.policies)
                    times.append(time.perf_counter() - started)
                print(f"{name}: training median {statistics.median(times):.2f} s over {args.repeat}")
            measure(root, args.alone)


if __name__ == "__main__":
    main()
