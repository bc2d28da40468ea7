"""How long a full garbage collection holds a serving process, before and after the server's
``gc.freeze()`` (bot/app.py): the models, vocabularies and domain loaded at start are what a
full collection walks, and a full collection stops the event loop while it runs.

    .venv/bin/python benchmarks/gc_pauses.py

Loads what `carebot serve` loads (the project's assistant and the NLU models of
CAREBOT_MODELS_DIR / CAREBOT_BASE_MODELS_DIR), parses a few messages, then prints the time
of full collections, first as loaded, then after collecting once and freezing.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import Config, use_offline_models  # noqa: E402


def full_collections(times: int = 3) -> list[float]:
    taken = []
    for _ in range(times):
        started = time.perf_counter()
        gc.collect()
        taken.append((time.perf_counter() - started) * 1000)
    return taken


def main() -> None:
    use_offline_models()
    from bot.dialogue.assistant import load_assistant
    from nlp.pipeline import NLU

    config = Config.from_env()
    load_assistant(config.project_dir, config.models_dir, config.escalation, env=config.environ)
    model = NLU.load(config.models_dir, base_dir=config.base_models_dir)
    model.parse_batch(["hi there", "where is my order A10002", "thanks, bye"])
    print(f"objects the collector tracks: {len(gc.get_objects()):,}")
    print("full collection, as loaded:  " + ", ".join(f"{t:.1f} ms" for t in full_collections()))
    gc.collect()
    gc.freeze()
    print(f"frozen: {gc.get_freeze_count():,} objects")
    print("full collection, frozen:     " + ", ".join(f"{t:.1f} ms" for t in full_collections()))


if __name__ == "__main__":
    main()
