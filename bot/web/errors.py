"""Every error a client can cause is a JSON body with a message that says what went wrong."""

from __future__ import annotations

import json
import logging

from aiohttp import web

logger = logging.getLogger(__name__)


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


class BadRequest(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(text=json.dumps({"error": message, "status": 400}),
                         content_type="application/json")


async def read_json_object(request: web.Request, max_bytes: int) -> dict:
    """The request body as a JSON object, or a 4xx that says what is wrong with it."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise web.HTTPRequestEntityTooLarge(
            max_size=max_bytes, actual_size=request.content_length or 0,
            text=json.dumps({"error": f"request body is larger than {max_bytes} bytes",
                             "status": 413}), content_type="application/json") from None
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def require_text(body: dict, key: str, *, max_chars: int) -> str:
    value = body.get(key)
    if value is None:
        raise BadRequest(f"missing field '{key}'")
    if not isinstance(value, str):
        raise BadRequest(f"field '{key}' must be a string")
    if not value.strip():
        raise BadRequest(f"field '{key}' is empty")
    if len(value) > max_chars:
        raise web.HTTPRequestEntityTooLarge(
            max_size=max_chars, actual_size=len(value),
            text=json.dumps({"error": f"field '{key}' is longer than {max_chars} characters",
                             "status": 413}), content_type="application/json")
    problem = text_problem(value)
    if problem:
        raise BadRequest(f"field '{key}' {problem}")
    return value


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text (None when it can)."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate escape)"
    return None


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json" and not (
            request.path.startswith(("/agent", "/analytics")) and exc.status in (401, 403)
        ):
            return json_error(exc.status, exc.reason if not exc.text or exc.text.startswith(
                str(exc.status)) else exc.text)
        raise
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error; the server logged the details")
