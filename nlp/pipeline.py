"""The NLU pipeline: one object per process that turns a message into a ParseResult.

Per message: one transformer pass (sentence embedding + sentiment, :mod:`nlp.joint`), a
logistic regression over it and TF-IDF n-grams (intent), regexes/lookups (entities, PII),
and spaCy's NER only when the message has a capitalised word that could be a name.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from nlp.encoder import SentenceEncoder
from nlp.entities import EntityExtractor
from nlp.intent import IntentClassifier
from nlp.pii import find_pii, mask, may_name_someone
from nlp.sentiment import to_sentiment
from nlp.spacy_model import load_spacy
from nlp.types import ParseResult

logger = logging.getLogger(__name__)

INTENT_FILE = "intent.joblib"
ENTITIES_FILE = "entities.json"
SENTIMENT_DIR = "sentiment"
METADATA_FILE = "metadata.json"
RANKING_SIZE = 10
CACHE_SIZE = 4096


class NLUNotTrainedError(RuntimeError):
    """The models directory lacks a trained model."""


class NLU:
    """Intent, entities, sentiment and PII redaction for customer messages."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        intents: IntentClassifier,
        entities: EntityExtractor,
        spacy_nlp,
        sentiment=None,
        cache_size: int = CACHE_SIZE,
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
        self._cache: OrderedDict[str, ParseResult] = OrderedDict()

    @staticmethod
    def is_trained(models_dir: str | Path) -> bool:
        models_dir = Path(models_dir)
        return all(
            (models_dir / name).exists()
            for name in (INTENT_FILE, ENTITIES_FILE, f"{SENTIMENT_DIR}/config.json")
        )

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
        if not cls.is_trained(models_dir):
            raise NLUNotTrainedError(
                f"no trained NLU model in {models_dir}; run `carebot train` first"
            )
        encoder = SentenceEncoder.shared(base_dir, threads=threads)
        sentiment = None
        if sentiment_model is None and not encoder.has_sentiment:
            sentiment_model = base_dir / SENTIMENT_DIR  # a transformers model directory
        if sentiment_model is not None:
            from nlp.sentiment import SentimentModel

            sentiment = SentimentModel.load(sentiment_model, threads=threads)
        nlu = cls(
            encoder=encoder,
            intents=IntentClassifier.load(models_dir / INTENT_FILE, encoder=encoder),
            entities=EntityExtractor.load(models_dir / ENTITIES_FILE),
            spacy_nlp=load_spacy(),
            sentiment=sentiment,
        )
        nlu.parse("hello")  # the first call pays ONNX Runtime's set-up, not a customer
        nlu._cache.clear()
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
        """Parse many messages at once; batching amortises the transformer calls."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        results: list[ParseResult | None] = [self._cache.get(t) for t in texts]
        todo = sorted({t for t, r in zip(texts, results, strict=True) if r is None})
        if todo:
            fresh = dict(zip(todo, self._parse_uncached(todo), strict=True))
            for text, result in fresh.items():
                self._cache[text] = result
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            results = [
                r if r is not None else fresh[t] for t, r in zip(texts, results, strict=True)
            ]
        return results

    def _parse_uncached(self, texts: list[str]) -> list[ParseResult]:
        embeddings, sentiment_probs = self.encoder.encode_with_sentiment(texts)
        if self.sentiment is not None:
            sentiment_probs = self.sentiment.predict_proba(texts)
        ranked = self.intents.rank(texts, embeddings, top=RANKING_SIZE)
        docs = self._ner_docs(texts)
        results = []
        for text, doc, (intent, ranking), probs in zip(
            texts, docs, ranked, np.asarray(sentiment_probs), strict=True
        ):
            pii = find_pii(text, doc)
            results.append(
                ParseResult(
                    text=text,
                    intent=intent,
                    intent_ranking=ranking,
                    entities=self.entities.extract(text, doc),
                    sentiment=to_sentiment(probs),
                    redacted_text=mask(text, pii),
                    pii=pii,
                )
            )
        return results

    def _ner_docs(self, texts: list[str]) -> list:
        """spaCy docs for the texts that may hold a name (None for the others)."""
        wanted = [i for i, t in enumerate(texts) if may_name_someone(t)]
        docs: list = [None] * len(texts)
        for i, doc in zip(wanted, self.spacy.pipe([texts[i] for i in wanted]), strict=True):
            docs[i] = doc
        return docs
