"""The domain's responses turned into bot messages, as Rasa 3's templated NLG does: the
variation that fits the slots and the channel, ``{slot}`` filled in."""

from __future__ import annotations

import copy
import logging
import random
import re
from typing import Any

from bot.dialogue.project.model import Domain, ResponseVariation

logger = logging.getLogger(__name__)

# The keys of a bot message (Rasa's BotUttered data plus text), in Rasa's output shape.
MESSAGE_KEYS = ("text", "buttons", "image", "custom", "attachment", "elements", "quick_replies")
# The keys Rasa fills ``{slot}`` placeholders in.
_INTERPOLATED = ("text", "image", "custom", "buttons", "attachment", "quick_replies")
# A custom action's dispatcher entry: what utter_message() itself writes, not kwargs for the text.
_DISPATCHER_KEYS = (*MESSAGE_KEYS, "json_message", "template", "response")
_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


class ResponseRenderer:
    """Renders the domain's responses; ``rng`` picks among equally fitting variations."""

    def __init__(self, domain: Domain, rng: random.Random | None = None) -> None:
        self.domain = domain
        self.rng = rng or random.Random()

    def has(self, name: str) -> bool:
        return name in self.domain.responses

    def variations(self, name: str, slots: dict, channel: str | None) -> list[ResponseVariation]:
        """The variations Rasa would choose among, best group first: conditional ones for this
        channel, then unconditional ones for this channel, then conditional ones for any
        channel, then unconditional ones for any channel."""
        every = self.domain.responses.get(name, [])
        conditional = [v for v in every if v.condition and _conditions_hold(v, slots)]
        default = [v for v in every if not v.condition]
        for group in (
            [v for v in conditional if channel is not None and v.channel == channel],
            [v for v in default if channel is not None and v.channel == channel],
            [v for v in conditional if v.channel is None],
            [v for v in default if v.channel is None],
        ):
            if group:
                return group
        return []

    def render(self, name: str, slots: dict, channel: str | None = None,
               kwargs: dict | None = None) -> list[dict] | None:
        """The bot message(s) for response ``name``: ``[message]``; ``[]`` when no variation
        fits (every one has a condition that does not hold, or is for another channel);
        None when the domain has no such response, so the caller can use a default."""
        if name not in self.domain.responses:
            return None
        candidates = self.variations(name, slots, channel)
        if not candidates:
            logger.warning("no variation of the response %r fits the slots and channel %r",
                           name, channel)
            return []
        message = _message(self.rng.choice(candidates))
        values = {**slots, **(kwargs or {})}
        for key in _INTERPOLATED:
            if key in message:
                message[key] = interpolate(message[key], values)
        message["response"] = name
        return [message]

    def render_dispatched(self, response: dict, slots: dict, channel: str | None = None
                          ) -> list[dict] | None:
        """The message(s) for one entry of a custom action's ``responses``, as Rasa's
        RemoteAction utters them: a named ``response`` (or ``template``) is rendered with the
        entry's other keys as ``{placeholder}`` values, then the entry's own non-empty keys
        override it and its buttons are added; an entry without a name passes through.
        None when it names a response the domain lacks."""
        name = response.get("response") or response.get("template")
        extra = {k: v for k, v in response.items() if k not in _DISPATCHER_KEYS}
        if name:
            rendered = self.render(name, slots, channel, extra)
            if not rendered:
                return rendered
            message = rendered[0]
        else:
            message = {}
        if response.get("buttons"):
            message["buttons"] = [*message.get("buttons", []), *response["buttons"]]
        if response.get("json_message") and not response.get("custom"):
            message["custom"] = response["json_message"]
        for key, value in response.items():
            if key in MESSAGE_KEYS and key != "buttons" and value:
                message[key] = value
            elif key in extra and value not in (None, "", [], {}):
                message[key] = value
        return [message]


def _conditions_hold(variation: ResponseVariation, slots: dict) -> bool:
    for condition in variation.condition:
        if condition.type != "slot":
            return False  # Rasa knows no other kind; the loader reports it
        value = slots.get(condition.name)
        if isinstance(value, str) and isinstance(condition.value, str):
            if value.casefold() != condition.value.casefold():
                return False
        elif value != condition.value:
            return False
    return True


def _message(variation: ResponseVariation) -> dict:
    message: dict[str, Any] = copy.deepcopy(variation.extra)
    if variation.text is not None:
        message["text"] = variation.text
    if variation.buttons:
        message["buttons"] = copy.deepcopy(list(variation.buttons))
    if variation.image is not None:
        message["image"] = variation.image
    if variation.custom is not None:
        message["custom"] = copy.deepcopy(variation.custom)
    if variation.attachment is not None:
        message["attachment"] = copy.deepcopy(variation.attachment)
    return message


def interpolate(value: Any, values: dict) -> Any:
    """Fill ``{name}`` in every string inside ``value`` (dicts and lists too), as Rasa does;
    a name with no value stays as written; a slot whose value is None reads "None", as in
    Rasa."""
    if isinstance(value, str):
        return _interpolate_text(value, values)
    if isinstance(value, dict):
        return {key: interpolate(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, values) for item in value]
    return value


def _interpolate_text(text: str, values: dict) -> str:
    # Rasa's own way first ("{name}" -> "{0[name]}", then str.format), so "{{" reads "{" as
    # it does there; where Rasa would give up and keep the whole text (a value missing, a
    # JSON payload with single braces), each placeholder is filled on its own instead.
    try:
        return _PLACEHOLDER.sub(r"{0[\1]}", text).format(values)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return _PLACEHOLDER.sub(lambda m: _fill(m, values), text)


def _fill(match: re.Match, values: dict) -> str:
    name = match.group(1)
    return format(values[name]) if name in values else match.group(0)
