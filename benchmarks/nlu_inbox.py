"""How many fallbacks one labelling round of the NLU inbox removes, on the simulator's traffic.

    .venv/bin/python benchmarks/nlu_inbox.py --conversations 80 --seed 7

Simulated customers talk to the real bot (`carebot demo-data`, `carebot simulate`) in a
throwaway SQLite database, with the project's trained models (models/). The inbox groups the
messages the bot understood worst. An oracle stands in for the bot builder: the simulator
knows what each customer meant (its opener templates, bot/simulate/customers.py), so each
group is labelled with its messages' majority goal, or out of scope for the customers'
confused lines. Only every other message of a group is labelled; the rest are held out.
The export is written into a copy of the project, the NLU retrained from it, and the inbox's
messages parsed with the old and the new model.

Prints: the inbox's size and groups, then fallbacks (intent nlu_fallback) among the labelled
and among the held-out messages, before and after the round.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analytics.insights.nlu_inbox import inbox, label_messages, plan_export, write_export  # noqa: E402
from analytics.store.db import make_engine  # noqa: E402
from bot.simulate.customers import CONFUSED, OPENERS  # noqa: E402

OUT_OF_SCOPE = "(out of scope)"
_TEMPLATES = [(goal, re.compile(re.escape(t.lower()).replace(r"\{order\}", r".+")))
              for goal, texts in OPENERS.items() for t in texts]


def oracle(text: str) -> str | None:
    """What the simulated customer meant: an opener's goal, out of scope, or unknown."""
    lowered = text.lower()
    for goal, pattern in _TEMPLATES:
        if pattern.search(lowered):
            return goal
    if any(c.lower() in lowered for c in CONFUSED):
        return OUT_OF_SCOPE
    return None


def carebot(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(REPO / ".venv" / "bin" / "carebot"), "--log-level", "WARNING", *args],
                   env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=80)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    models = REPO / "models"
    if not (models / "metadata.json").exists():
        sys.exit("No trained models in models/; run `carebot train` first.")
    from nlp.encoder import SentenceEncoder
    from nlp.pipeline import NLU
    from nlp.train import train_project

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        url = f"sqlite:///{tmp_path / 'sim.db'}"
        env = {"CAREBOT_DATABASE_URL": url, "CAREBOT_PROJECT_DIR": str(REPO),
               "CAREBOT_MODELS_DIR": str(models), "CAREBOT_BASE_MODELS_DIR": str(models)}
        started = time.perf_counter()
        carebot(env, "demo-data")
        carebot(env, "simulate", "--conversations", str(args.conversations), "--seed",
                str(args.seed), "--no-progress")
        simulated = time.perf_counter() - started
        engine = make_engine(url)
        encoder = SentenceEncoder.shared(models)
        groups = inbox(engine, encoder.encode)
        project = tmp_path / "project"
        project.mkdir()
        for name in ("domain.yml", "config.yml"):
            shutil.copy(REPO / name, project / name)
        shutil.copytree(REPO / "data", project / "data")
        intents = list((yaml.safe_load((project / "domain.yml").read_text()) or {})
                       .get("intents") or [])
        intents = [next(iter(i)) if isinstance(i, dict) else i for i in intents]
        labelled_texts, held_out, out_of_scope, skipped = [], [], [], 0
        for group in groups:
            goals = Counter(oracle(m.text) for m in group.messages)
            goal, _ = goals.most_common(1)[0]
            if goal is None or (goal != OUT_OF_SCOPE and goal not in intents):
                skipped += 1
                continue
            train = group.messages[::2]
            label_messages(engine, [m.message_id for m in train],
                           None if goal == OUT_OF_SCOPE else goal, by="oracle",
                           known_intents=intents)
            if goal == OUT_OF_SCOPE:  # stays a fallback, as it should: not in the export
                out_of_scope += [m.text for m in group.messages]
                continue
            labelled_texts += [m.text for m in train]
            held_out += [m.text for m in group.messages[1::2]]
        plan = plan_export(engine, project, intents)
        write_export(engine, plan)
        pipeline = (yaml.safe_load((project / "config.yml").read_text()) or {}).get("pipeline")
        step = time.perf_counter()
        train_project(sorted((project / "data").glob("*.yml")), pipeline, tmp_path / "after",
                      models, progress=False)
        retrained = time.perf_counter() - step
        before = NLU.load(models, base_dir=models)
        after = NLU.load(tmp_path / "after", base_dir=models)

        def fallbacks(nlu, texts: list[str]) -> int:
            return sum(nlu.parse(t).intent.name == "nlu_fallback" for t in texts)

        total = sum(g.count for g in groups)
        print(f"simulated {args.conversations} conversations (seed {args.seed}) in "
              f"{simulated:.0f} s; NLU retrained in {retrained:.0f} s (a shared, loaded machine)")
        print(f"inbox: {total} messages in {len(groups)} groups; oracle labelled "
              f"{len(groups) - skipped} groups ({len(labelled_texts)} messages with an intent, "
              f"{len(out_of_scope)} out of scope), "
              f"{skipped} groups with no known goal left alone")
        print(f"export: {plan.to_dict()['examples']} examples written, skipped {plan.skipped}")
        print(f"{'messages':<28}{'n':>5}{'fallbacks before':>18}{'after':>8}")
        for name, texts in (("labelled with an intent", labelled_texts),
                            ("held out (same groups)", held_out),
                            ("marked out of scope", out_of_scope)):
            print(f"{name:<28}{len(texts):>5}{fallbacks(before, texts):>18}"
                  f"{fallbacks(after, texts):>8}")


if __name__ == "__main__":
    main()
