"""Request bodies arrive whole, in time, or not at all: a client that trickles its body is cut
off with a 408, and one that leaves mid-body is noted in one line, not a traceback."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.web.errors import http_error, too_large
from bot.web.keys import CONFIG

logger = logging.getLogger(__name__)

_WITH_BODY = ("POST", "PUT", "PATCH")


@web.middleware
async def body_middleware(request: web.Request, handler):
    """Read the body before the handler (aiohttp keeps it for ``request.read()``)."""
    if request.method in _WITH_BODY and request.body_exists:
        config = request.config_dict.get(CONFIG)
        seconds = config.limits.request_body_seconds if config else 10.0
        try:
            async with asyncio.timeout(seconds):
                await request.read()
        except TimeoutError:
            logger.info("%s %s from %s: body not received within %.0f s", request.method,
                        request.path, request.remote, seconds)
            raise http_error(web.HTTPRequestTimeout,
                             f"the request body did not arrive within {seconds:g} seconds; "
                             "send it at once") from None
        except web.HTTPRequestEntityTooLarge:
            raise too_large(request.client_max_size, request.content_length) from None
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            logger.info("%s %s: the client left mid-body (%s)", request.method, request.path,
                        type(exc).__name__)
            raise http_error(web.HTTPBadRequest, "the request body ended early") from None
    return await handler(request)
