"""Rasa's REST channel: ``POST /webhooks/rest/webhook`` ``{"sender", "message", "metadata"?}``
answers with the bot's messages, ``[{"recipient_id", "text", "buttons"?, ...}]``."""

from __future__ import annotations

from aiohttp import web

from bot.channels.identity import verified_customer_id
from bot.channels.ids import conversation_id_or_400
from bot.dialogue.conversations import ConversationForbidden
from bot.dialogue.hub import ConversationBusy
from bot.web.errors import BadRequest, json_error, read_json_object, require_text
from bot.web.keys import CONFIG, SERVICE


async def rest_webhook(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    body = await read_json_object(request, config.max_body_bytes)
    if "sender" not in body:
        raise BadRequest("missing field 'sender' (the conversation id)")
    sender = conversation_id_or_400(body.get("sender"))
    text = require_text(body, "message", max_chars=config.max_message_chars)
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise BadRequest("'metadata' must be a JSON object")
    customer = verified_customer_id(metadata.get("customer_id"), metadata.get("signature"),
                                    config.widget_secret)
    try:
        messages = await request.app[SERVICE].handle_message(
            sender, text, channel="rest", customer_external_id=customer)
    except ConversationForbidden as exc:
        return json_error(403, str(exc))
    except ConversationBusy as exc:
        return json_error(503, str(exc), headers={"Retry-After": "1"})
    return web.json_response([{"recipient_id": sender, **m} for m in messages])


def add_rest_channel(app: web.Application) -> None:
    app.router.add_post("/webhooks/rest/webhook", rest_webhook)
