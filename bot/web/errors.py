"""One JSON error shape for every client error: ``{"error": "<what to do>", "status": N}``.

Handlers raise :func:`http_error` (or :class:`BadRequest`); the middleware turns any other
``HTTPException`` and any unexpected exception into the same shape, whatever the URL.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from bot.web import safe_json

logger = logging.getLogger(__name__)
JSON = "application/json"


def error_body(status: int, message: str) -> dict:
    return {"error": message, "status": status}


def json_error(status: int, message: str, headers: dict | None = None) -> web.Response:
    return web.json_response(error_body(status, message), status=status, headers=headers)


def http_error(cls: type[web.HTTPException], message: str, **kwargs) -> web.HTTPException:
    """An ``HTTPException`` of ``cls`` whose body is the JSON error shape (raise it)."""
    return cls(text=json.dumps(error_body(cls.status_code, message)), content_type=JSON, **kwargs)


def too_large(max_bytes: int, actual: int | None) -> web.HTTPException:
    return http_error(web.HTTPRequestEntityTooLarge,
                      f"request body is larger than {max_bytes} bytes",
                      max_size=max_bytes, actual_size=actual or 0)


class BadRequest(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(text=json.dumps(error_body(400, message)), content_type=JSON)


async def read_json_object(request: web.Request, max_bytes: int) -> dict:
    """The request body as a JSON object, or a 4xx that says what is wrong with it."""
    body = await read_json(request, max_bytes)
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


async def read_json(request: web.Request, max_bytes: int):
    """The request body as JSON (any value), or a 4xx that says what is wrong with it."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(max_bytes, request.content_length) from None
    if len(raw) > max_bytes:
        raise too_large(max_bytes, len(raw))
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object")
    try:
        body = safe_json.loads(raw)
    except safe_json.UnsafeJSON as exc:
        raise BadRequest(f"request body {exc}") from None
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
        raise http_error(web.HTTPRequestEntityTooLarge,
                         f"field '{key}' is longer than {max_chars} characters",
                         max_size=max_chars, actual_size=len(value))
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
        if exc.status >= 400 and exc.content_type != JSON:
            message = exc.text if exc.text and not exc.text.startswith(str(exc.status)) \
                else exc.reason
            return json_error(exc.status, message, headers=_kept_headers(exc))
        raise
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error; the server logged the details")


def _kept_headers(exc: web.HTTPException) -> dict:
    return {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
