"""The names RulePolicy files its lookups and prediction sources under (Rasa's), shared by
the policy and its training-time checks."""

from __future__ import annotations

from bot.dialogue.project.model import (
    ACTION_BACK,
    ACTION_LISTEN,
    ACTION_RESTART,
    ACTION_SESSION_START,
    Domain,
)

DEFAULT_ACTION_MAPPINGS = {"restart": ACTION_RESTART, "back": ACTION_BACK,
                           "session_start": ACTION_SESSION_START}
RULES = "rules"
RULES_FOR_LOOP_UNHAPPY_PATH = "rules_for_loop_unhappy_path"
RULES_NOT_IN_STORIES = "rules_not_in_stories"
LOOP_WAS_INTERRUPTED = "loop_was_interrupted"
DO_NOT_PREDICT_LOOP_ACTION = "do_not_predict_loop_action"
DEFAULT_RULES = "predicting default action with intent "
LOOP_RULES = "handling active loops and forms - "
LOOP_RULES_SEPARATOR = " - "


def sources_for_defaults(domain: Domain) -> set[str]:
    """The prediction sources that are not user rules: default actions and loop handling."""
    sources = {DEFAULT_RULES + intent for intent in DEFAULT_ACTION_MAPPINGS}
    for loop in domain.forms:
        sources.add(LOOP_RULES + loop)
        sources.add(f"{LOOP_RULES}{loop}{LOOP_RULES_SEPARATOR}{ACTION_LISTEN}")
    return sources
