"""What running a custom action gives back, and the ways it can fail, whoever runs it: the
project's ``actions`` package in this process or a remote action server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ActionResult:
    """An action server's answer: Rasa events and the messages the dispatcher collected,
    both in Rasa's JSON shape (``{"event": "slot", ...}``, ``{"text": ..., "response": ...}``)."""

    events: list[dict] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)


class ActionError(Exception):
    """Running the custom action ``action_name`` did not give a result."""

    def __init__(self, action_name: str, message: str) -> None:
        super().__init__(message)
        self.action_name = action_name
        self.message = message


class ActionNotFound(ActionError):
    """No action of that name is registered (by the package or the action server)."""


class ActionRejected(ActionError):
    """The action raised rasa_sdk's ActionExecutionRejection: the runtime records Rasa's
    ``action_execution_rejected`` event and lets the policies predict something else."""


class ActionFailed(ActionError):
    """The action raised an exception, or the action server answered with an error."""


class ActionServerUnavailable(ActionFailed):
    """The action server could not be reached, or did not answer in time."""


class ActionRunner(Protocol):
    """Runs custom actions; ``ProjectActions`` and ``RemoteActions`` both are one."""

    async def run(self, action_name: str, tracker: dict, domain: dict) -> ActionResult: ...

    async def close(self) -> None: ...
