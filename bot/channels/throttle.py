"""Message limits the channels apply before a turn: per client address and per conversation."""

from __future__ import annotations

from bot.web.ratelimit import RateLimiter, Retry


async def message_refused(limiter: RateLimiter | None, conversation_id: str,
                          address: str) -> Retry | None:
    """Count one customer message; a Retry when the address or the conversation is over."""
    if limiter is None:
        return None
    return (await limiter.hit("messages_per_address", address)
            or await limiter.hit("messages_per_conversation", conversation_id))
