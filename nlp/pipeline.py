"""The NLU pipeline: one object per process that turns a message into a ParseResult."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from nlp.encoder import SentenceEncoder
from nlp.entities import EntityExtractor
from nlp.intent import IntentClassifier
from nlp.pii import find_pii, mask
from nlp.sentiment import SentimentModel
from nlp.spacy_model import load_spacy
from nlp.types import ParseResult

logger = logging.getLogger(__name__)

INTENT_FILE = "intent.joblib"
ENTITIES_FILE = "entities.json"
SENTIMENT_DIR = "sentiment"
METADATA_FILE = "metadata.json"
RANKING_SIZE = 10


class NLUNotTrainedError(RuntimeError):
    """The models directory lacks a trained model."""


class NLU:
    """Intent, entities, sentiment and PII redaction for customer messages."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        intents: IntentClassifier,
        entities: EntityExtractor,
        sentiment: SentimentModel,
        spacy_nlp,
    ) -> None:
        self.encoder = encoder
        self.intents = intents
        self.entities = entities
        self.sentiment = sentiment
        self.spacy = spacy_nlp

    @staticmethod
    def is_trained(models_dir: str | Path) -> bool:
        models_dir = Path(models_dir)
        return all(
            (models_dir / name).exists()
            for name in (INTENT_FILE, ENTITIES_FILE, f"{SENTIMENT_DIR}/config.json")
        )

    @classmethod
    def load(cls, models_dir: str | Path, sentiment_model: str | Path | None = None) -> NLU:
        """Load a trained pipeline; ``sentiment_model`` may name any transformers
        sequence-classification directory to use instead of the trained one."""
        started = time.perf_counter()
        models_dir = Path(models_dir)
        if not (models_dir / INTENT_FILE).exists():
            raise NLUNotTrainedError(
                f"no trained NLU model in {models_dir}; run `carebot train` first"
            )
        encoder = SentenceEncoder.shared(models_dir)
        nlu = cls(
            encoder=encoder,
            intents=IntentClassifier.load(models_dir / INTENT_FILE, encoder=encoder),
            entities=EntityExtractor.load(models_dir / ENTITIES_FILE),
            sentiment=SentimentModel.load(sentiment_model or models_dir / SENTIMENT_DIR),
            spacy_nlp=load_spacy(),
        )
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
        if not texts:
            return []
        docs = list(self.spacy.pipe(texts))
        embeddings = self.encoder.encode(texts)
        ranked = self.intents.rank(texts, embeddings, top=RANKING_SIZE)
        sentiments = self.sentiment.predict(texts)
        results = []
        for text, doc, (intent, ranking), sentiment in zip(
            texts, docs, ranked, sentiments, strict=True
        ):
            pii = find_pii(text, doc)
            results.append(
                ParseResult(
                    text=text,
                    intent=intent,
                    intent_ranking=ranking,
                    entities=self.entities.extract(text, doc),
                    sentiment=sentiment,
                    redacted_text=mask(text, pii),
                    pii=pii,
                )
            )
        return results
