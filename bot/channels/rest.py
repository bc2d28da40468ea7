"""Rasa's REST channel: ``POST /webhooks/rest/webhook`` ``{"sender", "message", "metadata"?}``
answers with the bot's messages, ``[{"recipient_id", "text", "buttons"?, ...}]``.

It is a server-to-server channel (the shop's backend, a messaging bridge): with
CAREBOT_REST_TOKEN set, callers must send ``Authorization: Bearer <token>`` (or Rasa's
``?token=``). Conversations of the chat widget are not reachable here: a widget conversation
is continued only over its socket, with its resume token.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.identity import verified_customer_id
from bot.channels.ids import conversation_id_or_400
from bot.channels.throttle import message_refused
from bot.dialogue.conversations import ConversationForbidden, ConversationNotFound
from bot.dialogue.hub import ConversationBusy
from bot.web.api_token import require_api_token
from bot.web.errors import BadRequest, json_error, read_json_object, require_text
from bot.web.keys import CONFIG, LIMITER, SERVICE
from bot.web.ratelimit import client_address, current_address, too_many_requests

CHANNEL = "rest"


async def rest_webhook(request: web.Request) -> web.Response:
    require_api_token(request)
    config = request.app[CONFIG]
    service = request.app[SERVICE]
    body = await read_json_object(request, config.max_body_bytes)
    if "sender" not in body:
        raise BadRequest("missing field 'sender' (the conversation id)")
    sender = conversation_id_or_400(body.get("sender"))
    text = require_text(body, "message", max_chars=config.max_message_chars)
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object")
    try:
        channel = (await service.get_state(sender)).channel
    except ConversationNotFound:
        channel = CHANNEL
    if channel != CHANNEL:
        # Separate id spaces: knowing a widget conversation's id must not let anyone read it.
        return json_error(403, f"conversation '{sender}' belongs to the {channel} channel and "
                               "can only be continued there; use another sender id")
    address = client_address(request)
    retry = await message_refused(request.app.get(LIMITER), sender, address)
    if retry:
        raise too_many_requests(retry, "too many messages")
    customer = verified_customer_id(metadata.get("customer_id"), metadata.get("signature"),
                                    config.widget_secret)
    current_address.set(address)  # the order-lookup limits read it inside the turn
    try:
        messages = await service.handle_message(
            sender, text, channel=CHANNEL, customer_external_id=customer)
    except ConversationForbidden as exc:
        return json_error(403, str(exc))
    except ConversationBusy as exc:
        return json_error(503, str(exc), headers={"Retry-After": "1"})
    return web.json_response([{"recipient_id": sender, **m} for m in messages])


def add_rest_channel(app: web.Application) -> None:
    app.router.add_post("/webhooks/rest/webhook", rest_webhook)
