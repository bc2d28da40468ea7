"""Train the NLU models from ``data/nlu.yml`` into a models directory."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nlp.encoder import JOINT_ONNX_FILE, JOINT_ONNX_INT8_FILE, SentenceEncoder
from nlp.entities import EntityExtractor
from nlp.intent import IntentClassifier
from nlp.joint import BRANCH_FILE, export_joint_onnx, train_sentiment
from nlp.pipeline import ENTITIES_FILE, INTENT_FILE, METADATA_FILE, SENTIMENT_DIR
from nlp.training_data import load_nlu_files

logger = logging.getLogger(__name__)


@dataclass
class TrainReport:
    models_dir: Path
    examples: int
    intents: list[str]
    encoder_backend: str
    sentiment_trained: bool
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds

    def to_dict(self) -> dict:
        data = asdict(self)
        data["models_dir"] = str(self.models_dir)
        return data


def train(
    nlu_yaml: str | Path,
    models_dir: str | Path,
    *,
    retrain_sentiment: bool = False,
    progress: bool = True,
    onnx: bool = True,
) -> TrainReport:
    """Train intents and entity config (always) and sentiment (when missing or asked).

    With ``onnx`` the joint encoder+sentiment graph is exported (int8) for serving.
    """
    nlu_yaml, models_dir = Path(nlu_yaml), Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    data = load_nlu_files([nlu_yaml])
    if len(data.intents) < 2:
        raise ValueError(f"{nlu_yaml}: needs examples for at least two intents to train")
    logger.info(
        "read %d examples of %d intents from %s", len(data.examples), len(data.intents), nlu_yaml
    )

    step = time.perf_counter()
    EntityExtractor.from_training_data(data).save(models_dir / ENTITIES_FILE)
    timings["entities"] = time.perf_counter() - step

    sentiment_dir = models_dir / SENTIMENT_DIR
    sentiment_trained = retrain_sentiment or not (sentiment_dir / BRANCH_FILE).exists()
    if sentiment_trained:
        step = time.perf_counter()
        train_sentiment(sentiment_dir, progress=progress)
        timings["sentiment"] = time.perf_counter() - step
    else:
        logger.info(
            "sentiment model kept from %s (pass retrain_sentiment to rebuild)", sentiment_dir
        )
    joint_files = [models_dir / JOINT_ONNX_FILE, models_dir / JOINT_ONNX_INT8_FILE]
    if onnx and (sentiment_trained or not any(p.exists() for p in joint_files)):
        step = time.perf_counter()
        export_joint_onnx(sentiment_dir, models_dir / JOINT_ONNX_FILE)
        timings["onnx_export"] = time.perf_counter() - step
    if not onnx:
        for path in joint_files:
            path.unlink(missing_ok=True)
    SentenceEncoder.forget_shared()

    step = time.perf_counter()
    encoder = SentenceEncoder.shared(models_dir)
    texts = [e.text for e in data.examples]
    embeddings = _encode_with_progress(encoder, texts, progress)
    timings["encode"] = time.perf_counter() - step

    step = time.perf_counter()
    classifier = IntentClassifier(encoder=encoder)
    classifier.fit(texts, [e.intent for e in data.examples], embeddings=embeddings)
    classifier.save(models_dir / INTENT_FILE)
    timings["intent"] = time.perf_counter() - step
    logger.info("intent classifier trained in %.1f s", timings["intent"])
    timings["total"] = time.perf_counter() - started

    report = TrainReport(
        models_dir=models_dir,
        examples=len(data.examples),
        intents=data.intents,
        encoder_backend=encoder.backend,
        sentiment_trained=sentiment_trained,
        timings={k: round(v, 2) for k, v in timings.items()},
    )
    _write_metadata(models_dir, nlu_yaml, report)
    logger.info("NLU trained in %.1f s -> %s", timings["total"], models_dir)
    return report


def _encode_with_progress(encoder: SentenceEncoder, texts: list[str], progress: bool):
    import numpy as np
    from tqdm.auto import tqdm

    chunk = 256
    parts = [
        encoder.encode(texts[i : i + chunk])
        for i in tqdm(range(0, len(texts), chunk), desc="encoding examples", disable=not progress)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, 384), dtype="float32")


def _write_metadata(models_dir: Path, nlu_yaml: Path, report: TrainReport) -> None:
    import sklearn
    import spacy
    import torch
    import transformers

    previous = {}
    if (models_dir / METADATA_FILE).exists():
        previous = json.loads((models_dir / METADATA_FILE).read_text(encoding="utf-8"))
    metadata = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "nlu_yaml": str(nlu_yaml),
        "nlu_yaml_sha256": hashlib.sha256(nlu_yaml.read_bytes()).hexdigest(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "scikit-learn": sklearn.__version__,
            "spacy": spacy.__version__,
        },
        "report": report.to_dict(),
        "sentiment_trained_at": (
            time.strftime("%Y-%m-%dT%H:%M:%S%z")
            if report.sentiment_trained
            else previous.get("sentiment_trained_at")
        ),
    }
    (models_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
