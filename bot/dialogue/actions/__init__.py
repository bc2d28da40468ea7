# ruff: noqa: E402  (rasa-sdk is imported first, below)
"""Custom actions (the project's own ``actions`` package in-process, or a remote action
server), the domain's responses as bot messages, and Rasa's reminders.

The runtime (``bot.dialogue.processor``) uses these; nothing here knows about trackers beyond
Rasa's action-server JSON shapes.
"""

from nlp.lean import import_rasa_sdk

import_rasa_sdk()  # first, so that rasa-sdk comes without Sanic (see nlp.lean)

from bot.dialogue.actions.base import (
    ActionError,
    ActionFailed,
    ActionNotFound,
    ActionRejected,
    ActionResult,
    ActionRunner,
    ActionServerUnavailable,
)
from bot.dialogue.actions.custom import ProjectActions
from bot.dialogue.actions.package import ActionsPackageError
from bot.dialogue.actions.reminders import PendingReminder, ReminderError, ReminderScheduler
from bot.dialogue.actions.remote import DEFAULT_TIMEOUT, RemoteActions
from bot.dialogue.actions.responses import ResponseRenderer

__all__ = [
    "DEFAULT_TIMEOUT",
    "ActionError",
    "ActionFailed",
    "ActionNotFound",
    "ActionRejected",
    "ActionResult",
    "ActionRunner",
    "ActionServerUnavailable",
    "ActionsPackageError",
    "PendingReminder",
    "ProjectActions",
    "RemoteActions",
    "ReminderError",
    "ReminderScheduler",
    "ResponseRenderer",
]
