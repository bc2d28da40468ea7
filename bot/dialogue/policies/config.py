"""config.yml's ``policies:`` entries -> policy objects (Rasa's names, Rasa's defaults)."""

from __future__ import annotations

from bot.dialogue.policies import learned, memoization, rule
from bot.dialogue.policies.base import Policy, PolicyConfigError, UnknownPolicyError
from bot.dialogue.policies.learned import LearnedPolicy, UnlikelyIntentPolicy
from bot.dialogue.policies.memoization import AugmentedMemoizationPolicy, MemoizationPolicy
from bot.dialogue.policies.rule import RulePolicy
from bot.dialogue.project.model import Component

POLICY_CLASSES: dict[str, type[Policy]] = {
    "RulePolicy": RulePolicy,
    "MemoizationPolicy": MemoizationPolicy,
    "AugmentedMemoizationPolicy": AugmentedMemoizationPolicy,
    "TEDPolicy": LearnedPolicy,
    "UnexpecTEDIntentPolicy": UnlikelyIntentPolicy,
}
# options each policy reads; other keys are errors (a typo must not pass silently)
STRICT_OPTIONS = {
    "RulePolicy": rule.KNOWN_OPTIONS,
    "MemoizationPolicy": memoization.KNOWN_OPTIONS,
    "AugmentedMemoizationPolicy": memoization.KNOWN_OPTIONS,
}
# TED-style policies carry dozens of network settings; those Carebot's learned policy has
# no use for are accepted and reported (PolicyEnsemble.warnings), not errors
LENIENT_USED_OPTIONS = {"TEDPolicy": learned.USED_OPTIONS, "UnexpecTEDIntentPolicy": set()}
RETIRED = {
    "FormPolicy": "Rasa 3 runs forms through RulePolicy: remove this entry",
    "MappingPolicy": "write a rule instead (Rasa 3 removed MappingPolicy)",
    "FallbackPolicy": "use RulePolicy's core_fallback_threshold and core_fallback_action_name",
    "TwoStageFallbackPolicy": "use a rule that runs action_two_stage_fallback on nlu_fallback",
    "KerasPolicy": "use TEDPolicy",
    "EmbeddingPolicy": "use TEDPolicy",
    "SklearnPolicy": "use TEDPolicy",
}
# Rasa 3's policies when config.yml lists none
DEFAULT_POLICIES = (
    Component("MemoizationPolicy", {}),
    Component("RulePolicy", {}),
    Component("UnexpecTEDIntentPolicy", {"max_history": 5, "epochs": 100}),
    Component("TEDPolicy", {"max_history": 5, "epochs": 100, "constrain_similarities": True}),
)


def build_policies(components: list[Component] | None) -> tuple[list[Policy], list[str]]:
    """Policies for config.yml's entries (Rasa's defaults when there are none), and notes
    on options that were accepted but have no effect."""
    entries = list(components) if components else list(DEFAULT_POLICIES)
    policies: list[Policy] = []
    notes: list[str] = []
    for component in entries:
        name = component.name
        if name.startswith("rasa.") and name.rsplit(".", 1)[-1] in POLICY_CLASSES:
            name = name.rsplit(".", 1)[-1]  # Rasa also takes its classes' module paths
        if name in RETIRED:
            raise UnknownPolicyError(f"policy '{name}' no longer exists in Rasa 3: {RETIRED[name]}.",
                                     component.source)
        if name not in POLICY_CLASSES:
            known = ", ".join(POLICY_CLASSES)
            raise UnknownPolicyError(
                f"unknown policy '{name}' in config.yml's policies. Carebot has {known}; "
                "custom policy classes are not supported.", component.source)
        options = {k: v for k, v in component.options.items() if k != "name"}
        if name in STRICT_OPTIONS:
            unknown = sorted(set(options) - STRICT_OPTIONS[name])
            if unknown:
                raise PolicyConfigError(
                    f"{name} has no option '{unknown[0]}'. Its options are: "
                    f"{', '.join(sorted(STRICT_OPTIONS[name]))}.", component.source)
        else:
            unused = sorted(set(options) - LENIENT_USED_OPTIONS[name])
            if unused and components:  # Rasa's defaults are ours to know, not the user's
                where = f"{component.source}: " if component.source else ""
                notes.append(f"{where}{name}: options {', '.join(unused)} are accepted for "
                             "compatibility and have no effect on Carebot's learned policy.")
        policies.append(POLICY_CLASSES[name](name, options))
    if sum(isinstance(p, RulePolicy) for p in policies) > 1:
        raise PolicyConfigError("config.yml lists RulePolicy more than once; keep one entry.",
                                entries[-1].source)
    return policies, notes
