"""bot.dialogue.nlu_batcher: the server's NLU off the event loop. Messages that arrive while a
batch is parsed share the next batch; each gets its own parse; button payloads skip the
classifier but not the redaction. The real trained demo NLU does the parsing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.dialogue.nlu_batcher import NLUService

MODELS = Path(os.environ.get("CAREBOT_MODELS_DIR", Path(__file__).resolve().parents[2] / "models"))


class CountingNLU:
    """The real NLU, with the batches it was handed written down."""

    def __init__(self, nlu) -> None:
        self.nlu = nlu
        self.batches: list[list[str]] = []

    def parse_batch(self, texts: list[str]):
        self.batches.append(list(texts))
        return self.nlu.parse_batch(texts)


@pytest.fixture(scope="module")
def nlu():
    from nlp.pipeline import NLU

    if not NLU.is_trained(MODELS):
        pytest.skip(f"no trained models in {MODELS}; run `make models`")
    model = NLU.load(MODELS)
    model.cache_size = 0
    return model


async def test_messages_arriving_during_a_parse_share_the_next_batch(nlu):
    counting = CountingNLU(nlu)
    service = NLUService(counting, known_intents=None)
    await service.start()
    try:
        texts = [f"where is my order A1000{n}" for n in range(10)] + ["hi there", "thanks, bye"]
        results = await asyncio.gather(*(service.parse(t) for t in texts))
        alone = [nlu.parse(t) for t in texts]
    finally:
        await service.close()
    assert [r.text for r in results] == texts  # each its own answer, in order
    assert [r.intent.name for r in results] == [r.intent.name for r in alone]
    assert sorted(t for batch in counting.batches for t in batch) == sorted(texts)
    # the first message is parsed at once; the others queue meanwhile and go together
    assert len(counting.batches) < len(texts), counting.batches
    assert max(len(b) for b in counting.batches) >= 2


async def test_a_button_payload_skips_the_classifier_but_not_the_redaction(nlu):
    counting = CountingNLU(nlu)
    service = NLUService(counting, known_intents={"inform"})
    await service.start()
    try:
        parsed = await service.parse('/inform{"email": "someone@example.com"}')
        named = await service.parse('/inform{"name": "Anna Schmidt"}')
    finally:
        await service.close()
    assert counting.batches == []  # no classifier run
    assert parsed.intent.name == "inform" and parsed.intent.confidence == 1.0
    assert "someone@example.com" not in parsed.redacted_text
    assert [p.kind for p in parsed.pii] == ["EMAIL"]
    assert named.intent.name == "inform"
