from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from receiver import WebhookReceiver  # noqa: E402


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


@pytest.fixture
def flaky_receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(fail_first=2)
    yield hook
    hook.close()
