"""The NLU pipeline: one object per process that turns a message into a ParseResult.

Per message: one transformer pass (sentence embedding + sentiment, :mod:`nlp.joint`), a
logistic regression over it and TF-IDF n-grams (intent, and the response of a retrieval
intent), the project's entity extractors in config.yml's order (learned tagger, regexes and
lookups, Duckling dimensions, spaCy), synonyms, and PII redaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

import nlp.lean
from nlp.components import PipelineSettings, RegexSettings
from nlp.encoder import SENTIMENT_DIR, SentenceEncoder
from nlp.entities import EntityExtractor
from nlp.entity_tagger import EntityTagger
from nlp.finetune import check_graph, read_record
from nlp.intent_serving import ServingIntents, load_serving_form, serving_path
from nlp.pii import find_pii, mask, may_name_someone
from nlp.response_selector import ResponseSelector
from nlp.sentiment import to_sentiment
from nlp.spacy_model import load_spacy
from nlp.types import FALLBACK_INTENT, Entity, ParseResult

logger = logging.getLogger(__name__)

INTENT_FILE = "intent.joblib"
ENTITIES_FILE = "entities.json"
TAGGER_FILE = "entity_tagger.crfsuite"
SELECTOR_FILE = "response_selector.joblib"
PIPELINE_FILE = "nlu_pipeline.json"
METADATA_FILE = "metadata.json"
SPACY_EXTRACTOR = "SpacyEntityExtractor"
TAGGERS = ("DIETClassifier", "CRFEntityExtractor")
RANKING_SIZE = 10
CACHE_SIZE = 4096


class NLUNotTrainedError(RuntimeError):
    """The models directory lacks a trained model."""


class NLU:
    """Intent, entities, sentiment and PII redaction for customer messages."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        intents,
        entities: EntityExtractor,
        spacy_nlp,
        sentiment=None,
        cache_size: int = CACHE_SIZE,
        *,
        settings: PipelineSettings | None = None,
        tagger: EntityTagger | None = None,
        selectors: list[ResponseSelector] | None = None,
        retrieval_intents: list[str] | None = None,
    ) -> None:
        """``sentiment`` (anything with ``predict_proba(texts)``) replaces the encoder's own
        sentiment head; it is required when the encoder has none."""
        if sentiment is None and not encoder.has_sentiment:
            raise NLUNotTrainedError("no sentiment model: run `carebot train`")
        self.encoder = encoder
        self.intents = intents
        self.entities = entities
        self.sentiment = sentiment
        self.spacy = spacy_nlp
        self.cache_size = cache_size
        self.settings = settings or _legacy_settings(intents)
        self.tagger = tagger
        self.selectors = selectors or []
        self.retrieval_intents = retrieval_intents or []
        self.duckling = None
        if self.settings.duckling is not None:
            from nlp.duckling import DucklingExtractor

            self.duckling = DucklingExtractor(self.settings.duckling)
        self._cache: OrderedDict[str, ParseResult] = OrderedDict()

    @staticmethod
    def is_trained(models_dir: str | Path, base_dir: str | Path | None = None) -> bool:
        models_dir = Path(models_dir)
        base_dir = Path(base_dir) if base_dir is not None else models_dir
        project = all((models_dir / name).exists() for name in (INTENT_FILE, ENTITIES_FILE))
        return project and (base_dir / SENTIMENT_DIR / "config.json").exists()

    @classmethod
    def load(
        cls,
        models_dir: str | Path,
        sentiment_model: str | Path | None = None,
        *,
        base_dir: str | Path | None = None,
        threads: int | None = None,
    ) -> NLU:
        """Load a trained pipeline.

        ``base_dir`` holds the base models (encoder and sentiment; default: ``models_dir``);
        ``sentiment_model`` may name any transformers sequence-classification directory to
        use instead of the trained sentiment head; ``threads`` caps inference threads.
        """
        started = time.perf_counter()
        models_dir = Path(models_dir)
        base_dir = Path(base_dir) if base_dir is not None else models_dir
        if not cls.is_trained(models_dir, base_dir):
            raise NLUNotTrainedError(
                f"no trained NLU model in {models_dir} (base models: {base_dir}); "
                "run `carebot train` first"
            )
        finetuned = read_record(models_dir / PIPELINE_FILE)
        # a project trained with --finetune runs its own graph (the base graph's outputs and
        # the fine-tuned intent embedding), checked to be the one its classifier learned on
        graph = check_graph(models_dir, finetuned) if finetuned else None
        encoder = SentenceEncoder.shared(base_dir, threads=threads, graph=graph)
        sentiment = None
        if sentiment_model is None and not encoder.has_sentiment:
            sentiment_model = base_dir / SENTIMENT_DIR  # a transformers model directory
        if sentiment_model is not None:
            from nlp.sentiment import SentimentModel

            sentiment = SentimentModel.load(sentiment_model, threads=threads)
        intents = load_intents(models_dir / INTENT_FILE, encoder.for_intents())
        entities = EntityExtractor.load(models_dir / ENTITIES_FILE)
        settings, retrieval = None, []
        if (models_dir / PIPELINE_FILE).exists():
            saved = json.loads((models_dir / PIPELINE_FILE).read_text(encoding="utf-8"))
            settings = PipelineSettings.from_dict(saved["settings"])
            retrieval = saved.get("retrieval_intents", [])
            intents.set_params(
                threshold=settings.fallback_threshold or 0.0,
                ambiguity_threshold=settings.ambiguity_threshold or 0.0,
            )
        tagger = None
        if (models_dir / TAGGER_FILE).exists() and settings is not None:
            tagger = make_tagger(settings, entities).open(models_dir / TAGGER_FILE)
        selectors = []
        if (models_dir / SELECTOR_FILE).exists():
            selectors = ResponseSelector.load_all(models_dir / SELECTOR_FILE, encoder)
        nlu = cls(
            encoder=encoder,
            intents=intents,
            entities=entities,
            spacy_nlp=load_spacy(),
            sentiment=sentiment,
            settings=settings,
            tagger=tagger,
            selectors=selectors,
            retrieval_intents=retrieval,
        )
        nlu.parse("hello")  # the first call pays ONNX Runtime's set-up, not a customer
        nlu._cache.clear()
        nlp.lean.release_freed_memory()
        logger.info(
            "NLU loaded from %s in %.1f s (encoder: %s)",
            models_dir,
            time.perf_counter() - started,
            encoder.backend,
        )
        return nlu

    def parse(self, text: str) -> ParseResult:
        return self.parse_batch([text])[0]

    def parse_batch(self, texts: list[str]) -> list[ParseResult]:
        """Parse many messages at once; batching amortises the transformer calls. Results
        are cached by text (up to ``cache_size``; one cache per loaded model, so a retrained
        model starts empty), except those that depend on the clock."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        results: list[ParseResult | None] = [self._cache.get(t) for t in texts]
        todo = sorted({t for t, r in zip(texts, results, strict=True) if r is None})
        if todo:
            fresh = dict(zip(todo, self._parse_uncached(todo), strict=True))
            for text, result in fresh.items():
                if not _depends_on_the_clock(result):
                    self._cache[text] = result
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            results = [
                r if r is not None else fresh[t] for t, r in zip(texts, results, strict=True)
            ]
        return results

    def _parse_uncached(self, texts: list[str]) -> list[ParseResult]:
        embeddings, sentiment_probs, intent_embeddings = self.encoder.encode_all(texts)
        if self.sentiment is not None:
            sentiment_probs = self.sentiment.predict_proba(texts)
        if intent_embeddings is None:
            intent_embeddings = embeddings
        ranked = self.intents.rank(texts, intent_embeddings, top=RANKING_SIZE)
        docs = self._spacy_docs(texts)
        selected = self._select_responses(texts, embeddings)
        results = []
        for i, (text, doc, (intent, ranking), probs) in enumerate(
            zip(texts, docs, ranked, np.asarray(sentiment_probs), strict=True)
        ):
            pii = find_pii(text, doc)
            results.append(
                ParseResult(
                    text=text,
                    intent=intent,
                    intent_ranking=ranking,
                    entities=self._entities(text, doc),
                    sentiment=to_sentiment(probs),
                    redacted_text=mask(text, pii),
                    pii=pii,
                    response_selector=selected[i] if selected is not None else None,
                    ambiguous_intents=self._ambiguity(ranking),
                )
            )
        return results

    def _ambiguity(self, ranking: list) -> tuple[str, str] | None:
        """The top two intents when they are closer than the ambiguity threshold and, together,
        likely enough to hold the answer (an out-of-scope message is not ambiguous)."""
        threshold = self.settings.ambiguity_threshold or 0.0
        intents = [i for i in ranking if i.name != FALLBACK_INTENT]
        if threshold <= 0 or len(intents) < 2:
            return None
        first, second = intents[0], intents[1]
        close = first.confidence - second.confidence < threshold
        if close and first.confidence + second.confidence >= self.intents.effective_threshold:
            return (first.name, second.name)
        return None

    def _entities(self, text: str, doc) -> list[Entity]:
        found: list[Entity] = []
        for extractor in self.settings.extractor_order:
            if extractor in TAGGERS and self.tagger is not None:
                found += self.tagger.extract(text)
            elif extractor == "RegexEntityExtractor":
                found += self.entities.extract(text)
            elif extractor == "DucklingEntityExtractor" and self.duckling is not None:
                found += self.duckling.extract(text)
            elif extractor == SPACY_EXTRACTOR and doc is not None:
                dims = self.settings.spacy_dimensions
                found += [
                    Entity(e.label_, e.text, e.start_char, e.end_char, None, SPACY_EXTRACTOR)
                    for e in doc.ents
                    if not dims or e.label_ in dims
                ]
        if self.settings.synonyms:
            found = self.entities.map_synonyms(found)
        unique: dict[tuple, Entity] = {}
        for e in found:  # the same entity found twice (tagger and regex) is reported once
            key = (e.entity, e.start, e.end, repr(e.value), e.role, e.group)
            unique.setdefault(key, e)
        return list(unique.values())

    def _select_responses(self, texts: list[str], embeddings) -> list[dict] | None:
        if not self.settings.response_selectors:
            return None
        per_text: list[dict] = [
            {"all_retrieval_intents": list(self.retrieval_intents)} for _ in texts
        ]
        for selector in self.selectors:
            for out, answer in zip(per_text, selector.select(texts, embeddings), strict=True):
                out[selector.key] = answer
        return per_text

    def _spacy_docs(self, texts: list[str]) -> list:
        """spaCy docs: of every text with SpacyEntityExtractor, else only of the texts that
        may hold a name (PII); None for the others."""
        if self.settings.spacy_dimensions is not None:
            wanted = list(range(len(texts)))
        else:
            wanted = [i for i, t in enumerate(texts) if may_name_someone(t)]
        docs: list = [None] * len(texts)
        for i, doc in zip(wanted, self.spacy.pipe([texts[i] for i in wanted]), strict=True):
            docs[i] = doc
        return docs


def load_intents(path: Path, encoder):
    """The project's intent classifier as a server runs it: its serving form (numpy only,
    :class:`nlp.intent_serving.ServingIntents`) when `carebot train` saved one, else the
    scikit-learn classifier itself (models trained before there were serving forms)."""
    serving = serving_path(path)
    if serving.exists():
        try:
            return ServingIntents(load_serving_form(serving, path), encoder=encoder)
        except (ValueError, KeyError, TypeError, EOFError) as exc:
            logger.warning("%s is unusable (%s): loading %s with scikit-learn", serving, exc,
                           path.name)  # fmt: skip
    from nlp.intent import IntentClassifier

    return IntentClassifier.load(path, encoder=encoder)


def _depends_on_the_clock(result: ParseResult) -> bool:
    """A Duckling time ("tomorrow", "in 2 hours") is resolved against the moment of parsing:
    such a parse is not cached, or "tomorrow" would keep yesterday's date."""
    return any(e.entity == "time" and e.extractor == "DucklingEntityExtractor"
               for e in result.entities)  # fmt: skip


def make_tagger(settings: PipelineSettings, entities: EntityExtractor) -> EntityTagger:
    """The entity tagger the pipeline asks for, fed the project's patterns as features."""
    patterns = entities.patterns if settings.regex_features else []
    return EntityTagger(patterns, extractor=settings.entity_tagger or "DIETClassifier",
                        **settings.crf_options)  # fmt: skip


def _legacy_settings(intents) -> PipelineSettings:
    """Models trained before config.yml pipelines: regexes, lookups and synonyms, and the
    classifier's own fallback threshold."""
    return PipelineSettings(
        intent_classifier=True,
        regex_extractor=RegexSettings(),
        synonyms=True,
        fallback_threshold=intents.threshold,
        ambiguity_threshold=0.0,
        extractor_order=["RegexEntityExtractor"],
    )
