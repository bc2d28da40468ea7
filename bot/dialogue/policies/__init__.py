"""Dialogue policies that read a Rasa project's config.yml ``policies:`` as Rasa does.

    ensemble = PolicyEnsemble.train(project.stories, project.domain, project.config.policies)
    ensemble.save(model_dir / "policies")
    ensemble = PolicyEnsemble.load(model_dir / "policies")
    prediction = ensemble.predict(events, domain)   # Prediction(action, confidence, policy_name...)

=========================== ==================================================================
config.yml                  Carebot
=========================== ==================================================================
RulePolicy                  rule.RulePolicy: Rasa's algorithm (rules, loops, default rules,
                            core fallback, restrict_rules, contradiction check)
MemoizationPolicy           memoization.MemoizationPolicy (``max_history``, default: all)
AugmentedMemoizationPolicy  memoization.AugmentedMemoizationPolicy
TEDPolicy                   learned.LearnedPolicy: an MLP over the last ``max_history`` (5)
                            featurised states; ``epochs`` honoured (50-300), other settings
                            accepted and reported as having no effect
UnexpecTEDIntentPolicy      accepted; predicts nothing
(none listed)               Rasa 3's defaults: Memoization, Rule, UnexpecTEDIntent, TED
=========================== ==================================================================
"""

from bot.dialogue.policies.base import (
    InvalidRule,
    PolicyConfigError,
    PolicyPrediction,
    UnknownPolicyError,
)
from bot.dialogue.policies.config import DEFAULT_POLICIES, POLICY_CLASSES
from bot.dialogue.policies.ensemble import FOLLOWUP_ACTION, PolicyEnsemble, Prediction
from bot.dialogue.policies.training_data import TrainingTracker, story_events, training_trackers

__all__ = [
    "DEFAULT_POLICIES",
    "FOLLOWUP_ACTION",
    "POLICY_CLASSES",
    "InvalidRule",
    "PolicyConfigError",
    "PolicyEnsemble",
    "PolicyPrediction",
    "Prediction",
    "TrainingTracker",
    "UnknownPolicyError",
    "story_events",
    "training_trackers",
]
