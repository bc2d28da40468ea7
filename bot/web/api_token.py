"""Rasa's ``--auth-token`` for the server-to-server endpoints (the REST channel, /model/parse):
with CAREBOT_REST_TOKEN set, callers send ``Authorization: Bearer <token>`` (or ``?token=``)."""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.web.errors import http_error
from bot.web.keys import CONFIG


def require_api_token(request: web.Request) -> None:
    """401 unless the request carries the configured token (no token configured: open)."""
    expected = request.config_dict[CONFIG].rest_token
    if not expected:
        return
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") \
        else request.query.get("token", "")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        raise http_error(web.HTTPUnauthorized, "this endpoint needs the server's API token: "
                         "send 'Authorization: Bearer <CAREBOT_REST_TOKEN>'",
                         headers={"WWW-Authenticate": "Bearer"})
