"""Order lookups, rationed: the project's lookup actions (carebot.yml ``limits.lookup_actions``)
run at most so often per conversation and per client address, so a known email cannot be
used to guess order numbers by the hundred. Over the limit the action is not run and the
customer is told when to try again (the project's ``utter_too_many_lookups``, else a default).
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.actions.base import ActionResult
from bot.web.ratelimit import RateLimiter, current_address

RESPONSE = "utter_too_many_lookups"
DEFAULT_TEXT = ("I've looked up a lot of orders in a short time, so I have to pause. Please "
                "try again in {minutes} minutes, or ask for a person.")


class LookupGuard:
    """An action runner (ProjectActions / RemoteActions) with lookups counted before they run."""

    def __init__(self, runner: Any, limiter: RateLimiter, lookup_actions: tuple[str, ...]) -> None:
        self._runner = runner
        self._limiter = limiter
        self._lookups = frozenset(lookup_actions)

    def __getattr__(self, name: str) -> Any:  # names, has_package, ... of the wrapped runner
        return getattr(self._runner, name)

    async def run(self, action_name: str, tracker: dict, domain: dict) -> ActionResult:
        if action_name in self._lookups:
            address = current_address.get()
            retry = await self._limiter.hit("order_lookups_per_conversation",
                                            str(tracker.get("sender_id")))
            if retry is None and address:
                retry = await self._limiter.hit("order_lookups_per_address", address)
            if retry is not None:
                minutes = max(1, round(retry.seconds / 60))
                if RESPONSE in (domain.get("responses") or {}):
                    return ActionResult(responses=[{"response": RESPONSE, "minutes": minutes}])
                return ActionResult(responses=[{"text": DEFAULT_TEXT.format(minutes=minutes)}])
        return await self._runner.run(action_name, tracker, domain)

    async def close(self) -> None:
        if hasattr(self._runner, "close"):
            await self._runner.close()
