"""Names an analyst reads: Rasa's built-in intents, the satisfaction model's features, outcomes
and hand-off reasons in words. Any other name (a project's own intent) is turned from
snake_case into a sentence; the raw name stays available wherever a label is shown."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Names Carebot itself (or Rasa) gives: never a particular bot's intents.
KNOWN: dict[str, str] = {
    "nlu_fallback": "Not understood",
    "out_of_scope": "Out of scope",
    "in_progress": "Still in progress",
    "contained": "Solved by the bot",
    "escalated": "Handed to a person",
    "abandoned": "Left unresolved",
    "negative_sentiment": "Customer upset",
    "human_agent": "Asked for a person",
    "fallback": "Bot did not understand",
    "anonymous": "Not signed in",
    "websocket": "Web chat",
    "rest": "REST API",
    "cli": "Command line",
    # the satisfaction model's features (analytics/insights/satisfaction.py)
    "sentiment_first": "First message's sentiment",
    "sentiment_last": "Last message's sentiment",
    "sentiment_min": "Lowest sentiment",
    "turns": "Customer messages",
    "fallbacks": "Messages not understood",
    "wait_minutes": "Minutes waiting for an agent",
    "handle_minutes": "Agent handling minutes",
    "resolved": "Resolved",
    "tenure_days": "Days as a customer",
    "orders_before": "Orders before",
    "spend_before_100": "Spend before (per $100)",
}


def label(name: str | None) -> str:
    """``name`` in words: a known name's label, else ``order_status`` -> "Order status"."""
    if name is None:
        return ""
    if name in KNOWN:
        return KNOWN[name]
    words = re.sub(r"[_\-]+", " ", name).strip()
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", words)  # camelCase
    return (words[:1].upper() + words[1:].lower()) if words else name


def labels(names: Iterable[str | None]) -> dict[str, str]:
    """Raw name -> words, for the names given."""
    return {n: label(n) for n in names if n}
