"""Prometheus metrics (the ``prometheus-client`` library), safe with several server processes.

One process: the metrics live in this object's own registry. Several processes on one machine
(``PROMETHEUS_MULTIPROC_DIR`` set, the same directory for all): each process writes its
values to files there and ``GET /metrics`` at any of them adds all processes up, which is
prometheus-client's multiprocess mode. Gauges of one process (its sockets, its log backlog)
are summed over live processes; gauges every process reads from the database (queue length,
oldest wait) take the largest live value rather than counting it once per process.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from bot.config import export_metrics_directory  # noqa: E402

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def _use_multiprocess_files(directory: str) -> None:
    """Make new metric values live in files under ``directory`` (before creating metrics).

    prometheus-client picks its value class from PROMETHEUS_MULTIPROC_DIR when first
    imported; a server configured later switches it here, and its file code reads the
    directory from that variable.
    """
    Path(directory).mkdir(parents=True, exist_ok=True)
    export_metrics_directory(directory)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()
        values.ValueClass._multiprocess = True


class CarebotMetrics:
    """Every metric the server exports, and the text format of all of them."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir:
            _use_multiprocess_files(multiprocess_dir)
            registry = None  # values go to files; render() reads every process's files
        else:
            registry = CollectorRegistry()
        self._registry = registry
        kw = {"registry": registry}
        self.turns = Counter("carebot_turns", "Customer turns handled, by channel",
                             ["channel"], **kw)
        self.turn_latency = Histogram("carebot_turn_latency_seconds",
                                      "From a customer message arriving to the reply",
                                      ["channel"], buckets=LATENCY_BUCKETS, **kw)
        self.nlu_latency = Histogram("carebot_nlu_latency_seconds",
                                     "NLU time per message (its batch's duration)",
                                     buckets=LATENCY_BUCKETS, **kw)
        self.fallbacks = Counter("carebot_fallbacks", "Customer messages the bot did not "
                                 "understand", ["channel"], **kw)
        self.escalations = Counter("carebot_escalations", "Hand-overs to a person, by reason",
                                   ["reason"], **kw)
        self.abuse_signals = Counter("carebot_abuse_signals",
                                     "Turns on which abuse signals made the bot act",
                                     ["level"], **kw)
        self.queue_length = Gauge("carebot_queue_length", "Conversations waiting for a person",
                                  multiprocess_mode="livemax", **kw)
        self.oldest_wait = Gauge("carebot_queue_oldest_wait_seconds",
                                 "How long the longest-waiting customer has waited",
                                 multiprocess_mode="livemax", **kw)
        self.log_backlog = Gauge("carebot_log_backlog",
                                 "Conversation records queued, not yet written",
                                 multiprocess_mode="livesum", **kw)
        self.log_write_failures = Counter("carebot_log_write_failures",
                                          "Failed attempts to write conversation records", **kw)
        self.websockets = Gauge("carebot_websocket_connections", "Open WebSocket connections",
                                ["kind"], multiprocess_mode="livesum", **kw)
        self.alerts_open = Gauge("carebot_alerts_open", "Alerts raised and not cleared",
                                 multiprocess_mode="livemax", **kw)
        self.webhook_deliveries = Counter("carebot_alert_webhook_deliveries",
                                          "Alert notices sent to the webhook, by outcome",
                                          ["outcome"], **kw)

    def render(self) -> bytes:
        """The Prometheus text format of every process's metrics."""
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry)
        return generate_latest(self._registry)

    def close(self) -> None:
        """This process stops: its live gauges no longer count."""
        if self.multiprocess_dir:
            try:
                multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)
            except OSError as exc:
                logger.warning("could not retire this process's metric files: %s", exc)


class CountingLogHandler(logging.Handler):
    """Counts the conversation log's failed writes from its warnings (it has no counter)."""

    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.WARNING)
        self.counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Could not write"):
            self.counter.inc()


class TimedParser:
    """Wraps the NLU's batch parser to observe how long each message's batch took."""

    def __init__(self, parser, histogram: Histogram) -> None:
        self._parser = parser
        self._histogram = histogram

    def parse_batch(self, texts: list[str]):
        import time

        started = time.perf_counter()
        results = self._parser.parse_batch(texts)
        took = time.perf_counter() - started
        for _ in texts:
            self._histogram.observe(took)
        return results

    def __getattr__(self, name: str):
        return getattr(self._parser, name)
