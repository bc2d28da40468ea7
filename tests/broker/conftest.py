"""Fixtures of the event-broker tests."""

from __future__ import annotations

import pytest
from throwaway_rabbit import RabbitMQUnavailable, ThrowawayRabbitMQ


@pytest.fixture
def stopped_rabbit():
    """A throwaway RabbitMQ whose port is chosen, not yet started (the test starts it)."""
    try:
        node = ThrowawayRabbitMQ()
    except RabbitMQUnavailable as exc:
        pytest.skip(str(exc))
    yield node
    node.destroy()
