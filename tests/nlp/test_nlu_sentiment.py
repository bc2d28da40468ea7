"""Sentiment on obvious customer-service messages, using the repo's trained model.

The model is read from CAREBOT_MODELS_DIR (default /work/main/models); these tests skip
when it has not been trained (`carebot train`), because training takes minutes.
"""

import pytest

from nlp.sentiment import SentimentModel, _label_columns


@pytest.fixture(scope="module")
def sentiment(models_dir) -> SentimentModel:
    if not (models_dir / "sentiment" / "config.json").exists():
        pytest.skip(f"no trained sentiment model in {models_dir}; run `carebot train`")
    return SentimentModel.load(models_dir / "sentiment")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("thank you so much, that was really helpful", "positive"),
        ("this is the third time I'm asking, where is my refund?!", "negative"),
        ("what time do you open?", "neutral"),
    ],
)
def test_obvious_messages_get_the_obvious_label(sentiment, text, label):
    assert sentiment.predict([text])[0].label == label


def test_score_is_positive_minus_negative_probability(sentiment):
    result = sentiment.predict(["great service, thanks"])[0]
    assert set(result.scores) == {"negative", "neutral", "positive"}
    assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert result.score == pytest.approx(result.scores["positive"] - result.scores["negative"])


def test_torch_and_onnx_backends_agree(sentiment, models_dir):
    torch_model = SentimentModel.load(models_dir / "sentiment", onnx=False)
    texts = ["the parcel never arrived", "thanks a lot!", "do you ship to Spain?"]
    assert [s.label for s in torch_model.predict(texts)] == [
        s.label for s in sentiment.predict(texts)
    ]


def test_named_labels_are_mapped_whatever_their_order():
    assert _label_columns({0: "POSITIVE", 1: "NEGATIVE"}) == {2: 0, 0: 1}


def test_generic_three_labels_read_as_negative_neutral_positive():
    assert _label_columns({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}) == {0: 0, 1: 1, 2: 2}
