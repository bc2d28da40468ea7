"""The joint model trains on a few rows, saves, and exports one ONNX graph whose embedding
is MiniLM's own sentence embedding."""

import numpy as np
import pytest

from nlp.encoder import SentenceEncoder
from nlp.joint import (
    BRANCH_FILE,
    SentimentBranchError,
    export_joint_onnx,
    load_joint,
    train_sentiment,
)

ROWS = [
    ("this is awful, I want my money back", 0), ("terrible service, never again", 0),
    ("my parcel arrived broken", 0), ("you lost my order again", 0),
    ("what time do you open", 1), ("where is order A10023", 1),
    ("do you ship to Spain", 1), ("I want to return my shoes", 1),
    ("thank you so much", 2), ("great service, love it", 2),
    ("perfect, thanks for the help", 2), ("the lamp is beautiful", 2),
] * 2  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("sentiment")
    train_sentiment(out, rows=ROWS, epochs=3, batch_size=8, learning_rate=3e-4, progress=False)
    return out


def test_training_writes_the_branch_and_its_config(trained):
    assert (trained / BRANCH_FILE).exists()
    assert (trained / "config.json").exists()


def test_a_missing_branch_is_reported_with_what_to_do(tmp_path):
    with pytest.raises(SentimentBranchError, match="carebot train"):
        load_joint(tmp_path)


def test_the_trained_branch_learns_its_training_rows(trained):
    encoder = SentenceEncoder(sentiment_dir=trained)
    _, probs = encoder.encode_with_sentiment([t for t, _ in ROWS[:12]])
    assert (probs.argmax(1) == np.array([y for _, y in ROWS[:12]])).mean() >= 0.75


def test_joint_embedding_equals_plain_minilm(trained):
    texts = ["where is my order", "hello there"]
    joint = SentenceEncoder(sentiment_dir=trained).encode(texts)
    plain = SentenceEncoder().encode(texts)
    assert np.allclose(joint, plain, atol=1e-4)


def test_onnx_export_matches_torch(trained, tmp_path):
    path = export_joint_onnx(trained, tmp_path / "nlu.onnx", quantize=False)
    texts = ["my parcel arrived broken", "thanks a lot", "do you ship to Spain?"]
    emb_o, probs_o = SentenceEncoder(onnx_path=path).encode_with_sentiment(texts)
    emb_t, probs_t = SentenceEncoder(sentiment_dir=trained).encode_with_sentiment(texts)
    assert np.allclose(emb_o, emb_t, atol=1e-3)
    assert np.allclose(probs_o, probs_t, atol=1e-3)
