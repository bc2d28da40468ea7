"""Which web pages may talk to the server: the shop's pages (widget) and the server's own
(agent console)."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.web.errors import http_error


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """True for a page origin in ``allowed`` ("*" allows any); no Origin means not a browser."""
    if origin is None or "*" in allowed:
        return True
    return origin.rstrip("/").lower() in {a.rstrip("/").lower() for a in allowed}


def same_origin(request: web.Request) -> bool:
    """True when a browser request comes from the server's own pages (or not from a browser).

    Cookies are sent by every page of the same *site*, and a shop page on another port of the
    same host is the same site; checking the origin keeps those pages out of the console.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower()


def forbid_other_origins(request: web.Request) -> None:
    """403 unless ``same_origin``; guards agent actions and the agent socket."""
    if not same_origin(request):
        raise http_error(web.HTTPForbidden,
                         "the agent console only accepts requests from its own pages")
