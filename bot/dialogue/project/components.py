"""Rasa 3.x's built-in pipeline components and policies, by the name config.yml gives them.

config.yml is checked against these tables: a name that is not here (a custom component such
as ``my_pkg.MyComponent``, or a Rasa Pro one) is an error naming file and line, because
Carebot cannot run code written against Rasa's internal component API.
"""

from __future__ import annotations

from typing import Literal

ComponentKind = Literal[
    "tokenizer", "language_model", "featurizer", "intent_classifier", "entity_extractor",
    "intent_and_entity", "response_selector", "fallback", "synonyms",
]

PIPELINE_COMPONENTS: dict[str, ComponentKind] = {
    # tokenizers
    "WhitespaceTokenizer": "tokenizer",
    "JiebaTokenizer": "tokenizer",
    "MitieTokenizer": "tokenizer",
    "SpacyTokenizer": "tokenizer",
    # language models
    "MitieNLP": "language_model",
    "SpacyNLP": "language_model",
    # featurizers
    "MitieFeaturizer": "featurizer",
    "SpacyFeaturizer": "featurizer",
    "ConveRTFeaturizer": "featurizer",
    "LanguageModelFeaturizer": "featurizer",
    "RegexFeaturizer": "featurizer",
    "CountVectorsFeaturizer": "featurizer",
    "LexicalSyntacticFeaturizer": "featurizer",
    # intent classifiers
    "MitieIntentClassifier": "intent_classifier",
    "LogisticRegressionClassifier": "intent_classifier",
    "SklearnIntentClassifier": "intent_classifier",
    "KeywordIntentClassifier": "intent_classifier",
    # intent and entities together
    "DIETClassifier": "intent_and_entity",
    # entity extractors
    "MitieEntityExtractor": "entity_extractor",
    "SpacyEntityExtractor": "entity_extractor",
    "CRFEntityExtractor": "entity_extractor",
    "DucklingEntityExtractor": "entity_extractor",
    "RegexEntityExtractor": "entity_extractor",
    "EntitySynonymMapper": "synonyms",
    # selectors and fallback
    "ResponseSelector": "response_selector",
    "FallbackClassifier": "fallback",
}

POLICIES: tuple[str, ...] = (
    "RulePolicy",
    "MemoizationPolicy",
    "AugmentedMemoizationPolicy",
    "TEDPolicy",
    "UnexpecTEDIntentPolicy",
)

# Names users bring from older Rasa versions, with what replaced them.
REMOVED: dict[str, str] = {
    "FormPolicy": "removed in Rasa 2.0; forms run under RulePolicy",
    "MappingPolicy": "removed in Rasa 2.0; write a rule for the intent under RulePolicy",
    "FallbackPolicy": "removed in Rasa 2.0; use RulePolicy's core_fallback_threshold and "
                      "the FallbackClassifier",
    "TwoStageFallbackPolicy": "removed in Rasa 2.0; use a rule with action_two_stage_fallback",
    "KerasPolicy": "removed in Rasa 2.0; use TEDPolicy",
    "EmbeddingPolicy": "renamed TEDPolicy in Rasa 1.3",
    "HFTransformersNLP": "removed in Rasa 3.0; use LanguageModelFeaturizer",
    "LanguageModelTokenizer": "removed in Rasa 3.0; use WhitespaceTokenizer",
    "ConveRTTokenizer": "removed in Rasa 3.0; use WhitespaceTokenizer",
    "EmbeddingIntentClassifier": "removed in Rasa 2.0; use DIETClassifier",
    "CRFEntityExtractor_v2": "not a Rasa component; use CRFEntityExtractor",
}

# The policies Rasa trains when config.yml lists none (rasa/engine/recipes/config_files).
DEFAULT_POLICIES: tuple[tuple[str, dict], ...] = (
    ("MemoizationPolicy", {}),
    ("RulePolicy", {}),
    ("UnexpecTEDIntentPolicy", {"max_history": 5, "epochs": 100}),
    ("TEDPolicy", {"max_history": 5, "epochs": 100, "constrain_similarities": True}),
)
# The pipeline Rasa trains when config.yml lists none (for English).
DEFAULT_PIPELINE: tuple[tuple[str, dict], ...] = (
    ("WhitespaceTokenizer", {}),
    ("RegexFeaturizer", {}),
    ("LexicalSyntacticFeaturizer", {}),
    ("CountVectorsFeaturizer", {}),
    ("CountVectorsFeaturizer", {"analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4}),
    ("DIETClassifier", {"epochs": 100, "constrain_similarities": True}),
    ("EntitySynonymMapper", {}),
    ("ResponseSelector", {"epochs": 100, "constrain_similarities": True}),
    ("FallbackClassifier", {"threshold": 0.3, "ambiguity_threshold": 0.1}),
)


def unknown_component_hint(name: str, section: str) -> str:
    """What to tell a user whose config.yml names ``name`` in ``pipeline`` or ``policies``."""
    if name in REMOVED:
        return f"'{name}' was {REMOVED[name]}"
    if section == "pipeline" and name in POLICIES:
        return f"'{name}' is a policy; move it under policies:"
    if section == "policies" and name in PIPELINE_COMPONENTS:
        return f"'{name}' is a pipeline component; move it under pipeline:"
    known = sorted(PIPELINE_COMPONENTS) if section == "pipeline" else sorted(POLICIES)
    if "." in name:
        return (f"'{name}' is a custom component, which Carebot cannot run; remove it or "
                f"use one of Rasa's built-in {section}: {', '.join(known)}")
    kind = "policy" if section == "policies" else "pipeline component"
    return f"unknown {kind} '{name}'; use one of: {', '.join(known)}"
