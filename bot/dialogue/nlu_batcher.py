"""Runs the NLU off the event loop, gathering concurrent requests into micro-batches."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from bot.dialogue.project.annotations import AnnotationError, parse_intent_payload
from nlp.types import Entity, IntentScore, ParseResult, Sentiment

logger = logging.getLogger(__name__)

class Parser(Protocol):
    def parse_batch(self, texts: list[str]) -> list[ParseResult]: ...


def parse_payload(text: str) -> ParseResult | None:
    """Rasa's button payloads: ``/intent`` or ``/intent{"slot": "value"}`` skip the NLU. A
    payload whose entities are not a JSON object is read as ordinary text."""
    try:
        found = parse_intent_payload(text)
    except AnnotationError:
        return None
    if found is None:
        return None
    name, entities = found
    intent = IntentScore(name, 1.0)
    neutral = Sentiment("neutral", 0.0, {"negative": 0.0, "neutral": 1.0, "positive": 0.0})
    entities_found = [Entity(str(e["entity"]), str(e["value"]), 0, len(text), 1.0, "payload")
                      for e in entities]
    return ParseResult(text, intent, [intent], entities_found, neutral, text)


class NLUService:
    """One worker thread owns the models; requests that arrive together share a batch."""

    def __init__(self, parser: Parser, *, max_batch: int = 32, max_wait: float = 0.0,
                 known_intents: set[str] | None = None) -> None:
        self.parser = parser
        self.known_intents = known_intents
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[tuple[str, asyncio.Future]] | None = None
        self._worker: asyncio.Task | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="nlu-batcher")

    async def close(self) -> None:
        if self._worker:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._pool.shutdown(wait=False)

    async def parse(self, text: str) -> ParseResult:
        payload = parse_payload(text)
        if payload is not None and (self.known_intents is None
                                    or payload.intent.name in self.known_intents):
            # a button payload skips the classifier, never the PII redaction
            from nlp.pii import redact

            loop = asyncio.get_running_loop()
            redacted, spans = await loop.run_in_executor(self._pool, redact, text)
            return dataclasses.replace(payload, redacted_text=redacted, pii=spans)
        if self._queue is None:
            await self.start()
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((text, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            # What queued up while the last batch was parsed goes in this one: one thread
            # parses, so under load the queue fills by itself, and a message arriving alone
            # is parsed at once (``max_wait`` > 0 waits that long for company first).
            if self._queue.empty() and self.max_wait > 0:
                await asyncio.sleep(self.max_wait)
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            texts = [text for text, _ in batch]
            try:
                results = await loop.run_in_executor(self._pool, self.parser.parse_batch, texts)
            except Exception as exc:  # the NLU failing must fail these requests, not the server
                logger.exception("NLU failed on a batch of %d messages", len(texts))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
