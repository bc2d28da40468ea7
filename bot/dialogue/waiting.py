"""While a customer waits for a person: where they are in the queue, how long it should take,
and what happens to what they write meanwhile (docs/rasa-project.md, "Handoff").

``action_handoff`` and the turns that follow it, until an agent claims the conversation, ask
the waiting room (the agent console provides it) and give the project's responses these
variables, which any ``utter_handoff*`` response may use:

    {queue_position}  1 for the next customer an agent picks up
    {expected_wait}   "about 5 minutes", "under a minute"...
    {agents_online}   agents with the console open now
    {contact_email}   the email the customer left for a reply (utter_handoff_email_saved)
    {opens_at}        outside business hours, when the team is back: "Monday 09:00 GMT"

Responses Carebot utters (each has a built-in default, builtin_actions.DEFAULT_RESPONSES):
``utter_handoff`` / ``utter_handoff_<reason>`` when an agent is online,
``utter_handoff_offline`` when nobody is (the customer is asked for an email address),
``utter_handoff_after_hours`` instead outside carebot.yml's ``business_hours`` (the same,
saying when the team is back),
``utter_handoff_email_saved`` once the email is kept on the escalation, and
``utter_handoff_waiting`` for a message written while waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class QueueStatus:
    """A waiting conversation's place in the agents' queue."""

    position: int  # 1 = next
    expected_wait_seconds: float | None  # None: no recent handle times to go by
    agents_online: int
    contact_email: str | None = None  # the address kept for a reply by email
    email_saved_now: bool = False  # this very message gave it
    opens_at: str | None = None  # outside business hours: when the team is back

    @property
    def offline(self) -> bool:
        """Nobody will answer now (no agent online, or outside business hours): the customer
        is offered a reply by email."""
        return self.agents_online == 0 or self.opens_at is not None

    @property
    def offline_response(self) -> str:
        """What asks for the email while offline."""
        return "utter_handoff_after_hours" if self.opens_at is not None \
            else "utter_handoff_offline"

    def variables(self) -> dict:
        """The response variables (``{queue_position}``...)."""
        return {"queue_position": self.position,
                "expected_wait": wait_in_words(self.expected_wait_seconds),
                "agents_online": self.agents_online,
                "contact_email": self.contact_email or "",
                "opens_at": self.opens_at or ""}


class WaitingRoom(Protocol):
    """What the dialogue asks about the agents' queue (bot/console/waiting.py answers)."""

    async def on_handoff(self, conversation_id: str, priority: int,
                         contact_email: str | None) -> QueueStatus: ...

    async def on_follow_up(self, conversation_id: str, text: str) -> QueueStatus | None:
        """None when nobody should answer for the bot (an agent holds the conversation)."""
        ...


def wait_in_words(seconds: float | None) -> str:
    """A wait as a customer reads it: "under a minute", "about 5 minutes", "about 2 hours"."""
    if seconds is None:
        return "a few minutes"
    if seconds < 60:
        return "under a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"
    hours = round(minutes / 60)
    if hours < 24:
        return "about 1 hour" if hours == 1 else f"about {hours} hours"
    days = round(hours / 24)
    return "about 1 day" if days == 1 else f"about {days} days"
