"""Real `carebot serve` processes with monitoring settings of a test's own (a carebot.yml
beside the repo's, with the rules and webhook the test needs)."""

from __future__ import annotations

from pathlib import Path

import requests
from live_server import REPO
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "test-metrics-token"
WEBHOOK_SECRET = "test-webhook-secret"


def settings_file(directory: Path, extra: str) -> Path:
    """The demo shop's carebot.yml without its monitoring section, plus ``extra``."""
    text = (REPO / "carebot.yml").read_text()
    kept = text.split("\nmonitoring:")[0].rstrip() + "\n"
    path = directory / "carebot.yml"
    path.write_text(kept + extra)
    return path


def metrics(server, token: str = METRICS_TOKEN) -> dict[tuple[str, tuple], float]:
    """Every sample of GET /metrics, parsed by prometheus_client: (name, labels) -> value."""
    response = requests.get(server.url + "/metrics", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
