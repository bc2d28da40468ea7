"""Rasa's HTTP API where Carebot has its counterpart: ``POST /model/parse`` and the
conversation endpoints (``GET /conversations/{id}/tracker``)."""

from __future__ import annotations

from aiohttp import web

from bot.channels.ids import conversation_id_or_400
from bot.dialogue.conversations import ConversationNotFound
from bot.web.auth import AGENT_ROLES, require
from bot.web.errors import json_error, read_json_object, require_text
from bot.web.keys import CONFIG, NLU, SERVICE


async def model_parse(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    body = await read_json_object(request, config.max_body_bytes)
    text = require_text(body, "text", max_chars=config.max_message_chars)
    result = await request.app[NLU].parse(text)
    return web.json_response(result.to_dict())


async def tracker(request: web.Request) -> web.Response:
    require(request, AGENT_ROLES)  # slots and events hold the customer's personal data
    conversation_id = conversation_id_or_400(request.match_info["conversation_id"], "id")
    try:
        state = await request.app[SERVICE].get_state(conversation_id)
    except ConversationNotFound:
        return json_error(404, f"no conversation with id '{conversation_id}'")
    return web.json_response({**state.rasa_tracker(), "status": state.status,
                              "turns": state.turns})


def add_rasa_api(app: web.Application) -> None:
    app.router.add_post("/model/parse", model_parse)
    app.router.add_get("/conversations/{conversation_id}/tracker", tracker)
