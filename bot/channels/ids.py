"""What a conversation id and a client message id may look like on the wire."""

from __future__ import annotations

import re
import uuid

from bot.web.errors import BadRequest

_CONVERSATION_ID = re.compile(r"^[\w.:@+-]{1,128}$")


def is_conversation_id(value: object) -> bool:
    return isinstance(value, str) and bool(_CONVERSATION_ID.match(value))


def conversation_id_or_400(value: object, field: str = "sender") -> str:
    if not is_conversation_id(value):
        raise BadRequest(f"'{field}' must be 1-128 letters, digits or . _ : @ + -")
    return value


def uuid_or_none(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None
