"""Rasa's HTTP API where Carebot has its counterpart: ``POST /model/parse`` and the
conversation endpoints (tracker, appending events, triggering an intent, predicting).

The conversation endpoints hold the customer's personal data: agents and admins only.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.ids import conversation_id_or_400
from bot.dialogue.conversations import ConversationNotFound
from bot.web.api_token import require_api_token
from bot.web.auth import AGENT_ROLES, require
from bot.web.errors import (
    BadRequest,
    http_error,
    json_error,
    read_json,
    read_json_object,
    require_text,
)
from bot.web.keys import CONFIG, NLU, SERVICE

# Events a caller may append (Rasa's names); anything else is refused.
APPENDABLE_EVENTS = {"slot", "reset_slots", "restart", "rewind", "undo", "pause", "resume",
                     "followup", "reminder", "cancel_reminder", "bot", "active_loop"}


async def model_parse(request: web.Request) -> web.Response:
    require_api_token(request)
    config = request.app[CONFIG]
    body = await read_json_object(request, config.max_body_bytes)
    text = require_text(body, "text", max_chars=config.max_message_chars)
    result = await request.app[NLU].parse(text)
    return web.json_response(result.to_dict())


def _conversation_id(request: web.Request) -> str:
    require(request, AGENT_ROLES)
    return conversation_id_or_400(request.match_info["conversation_id"], "id")


def _not_found(conversation_id: str) -> web.Response:
    return json_error(404, f"no conversation with id '{conversation_id}'")


async def _state_or_404(request: web.Request):
    conversation_id = _conversation_id(request)
    try:
        return await request.app[SERVICE].get_state(conversation_id)
    except ConversationNotFound:
        raise http_error(web.HTTPNotFound, f"no conversation with id '{conversation_id}'") from None


async def tracker(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    state = await _state_or_404(request)
    return web.json_response({**state.rasa_tracker(service.processor.domain),
                              "status": state.status, "turns": state.turns})


async def append_events(request: web.Request) -> web.Response:
    """``POST /conversations/{id}/tracker/events``: one event or a list, in Rasa's shape."""
    conversation_id = _conversation_id(request)
    service = request.app[SERVICE]
    body = await read_json(request, request.app[CONFIG].max_body_bytes)
    events = body if isinstance(body, list) else [body]
    for event in events:
        if not isinstance(event, dict) or event.get("event") not in APPENDABLE_EVENTS:
            raise BadRequest("each event must be a JSON object whose 'event' is one of "
                             + ", ".join(sorted(APPENDABLE_EVENTS)))
    async with service.lock(conversation_id):
        try:
            state = await service.get_state(conversation_id)  # changed in place, as the
        except ConversationNotFound:                          # agent desk does, then stored
            return _not_found(conversation_id)
        for event in events:
            state.add_event(dict(event))
        await service.commit(state)
    return web.json_response(state.rasa_tracker(service.processor.domain))


async def trigger_intent(request: web.Request) -> web.Response:
    """``POST /conversations/{id}/trigger_intent`` ``{"name", "entities"?}``."""
    conversation_id = _conversation_id(request)
    service = request.app[SERVICE]
    body = await read_json_object(request, request.app[CONFIG].max_body_bytes)
    name = body.get("name")
    if not isinstance(name, str) or name not in service.processor.domain.intents:
        raise BadRequest("'name' must be an intent of the domain")
    entities = body.get("entities") or {}
    if isinstance(entities, dict):
        entities = [{"entity": k, "value": v} for k, v in entities.items()]
    if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
        raise BadRequest("'entities' must be an object (entity: value) or a list of entities")
    try:
        state, messages = await service.trigger_intent(conversation_id, name, entities)
    except ConversationNotFound:
        return _not_found(conversation_id)
    return web.json_response({"tracker": state.rasa_tracker(service.processor.domain),
                              "messages": [{"recipient_id": conversation_id, **m}
                                           for m in messages]})


async def predict(request: web.Request) -> web.Response:
    """``POST /conversations/{id}/predict``: the next action's scores, nothing run."""
    service = request.app[SERVICE]
    state = await _state_or_404(request)
    processor = service.processor
    prediction = processor.policies.predict(list(state.events), processor.domain)
    ranking = getattr(prediction, "ranking", None) or [(prediction.action, prediction.confidence)]
    return web.json_response({
        "scores": [{"action": a, "score": round(float(s), 4)} for a, s in ranking],
        "policy": prediction.policy_name,
        "confidence": round(float(prediction.confidence), 4),
        "tracker": state.rasa_tracker(processor.domain),
    })


def add_rasa_api(app: web.Application) -> None:
    app.router.add_post("/model/parse", model_parse)
    app.router.add_get("/conversations/{conversation_id}/tracker", tracker)
    app.router.add_post("/conversations/{conversation_id}/tracker/events", append_events)
    app.router.add_post("/conversations/{conversation_id}/trigger_intent", trigger_intent)
    app.router.add_post("/conversations/{conversation_id}/predict", predict)
