"""Where the real Rasa projects to test against are (never edited: tests copy them).

``CAREBOT_RASA_BOTS`` names the folder; otherwise ``shared/rasa_bots`` beside the checkout
(or beside any folder above it: a clean clone may sit deeper), then /work/shared/rasa_bots.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rasa_bots_dir() -> Path:
    named = os.environ.get("CAREBOT_RASA_BOTS")
    if named:
        return Path(named)
    for folder in REPO.parents:
        candidate = folder / "shared" / "rasa_bots"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/rasa_bots")


RASA_BOTS = rasa_bots_dir()
