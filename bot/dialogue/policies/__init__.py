"""Dialogue policies that read a Rasa project's config.yml ``policies:`` as Rasa does.

    ensemble = PolicyEnsemble.train(project.stories, project.domain, project.config.policies)
    ensemble.save(model_dir / "policies")
    ensemble = PolicyEnsemble.load(model_dir / "policies")
    prediction = ensemble.predict(events, domain)   # Prediction(action, confidence, policy_name...)
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
