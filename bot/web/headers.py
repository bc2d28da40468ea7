"""Security headers on every response: a Content-Security-Policy without inline script,
no framing of the console and dashboard, ``nosniff`` and a Referrer-Policy.

Only the customers' chat page (``/``) may be framed, and only by the shop's pages
(``allowed_origins``); the widget itself is a script the shop's page loads, so its own page's
policy applies to it.
"""

from __future__ import annotations

from aiohttp import web

from bot.web.keys import CONFIG

# Pages the shop may show in an iframe (the chat page); everything else is never framed.
FRAMEABLE_PATHS = frozenset({"/"})

# Pages whose charts library (Plotly) adds <style> elements from script: inline styles are
# allowed there, inline script never is.
INLINE_STYLE_PATHS = frozenset({"/analytics"})

# Every page's scripts and styles are files under /static or /analytics ('self'). Scripts set
# element styles (style-src-attr), which cannot run code.
_BASE_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)


def frame_ancestors(allowed_origins: tuple[str, ...]) -> str:
    """The chat page's ``frame-ancestors``: the shop's origins ("*": any page)."""
    if "*" in allowed_origins:
        return "frame-ancestors *"
    return "frame-ancestors 'self' " + " ".join(o.rstrip("/") for o in allowed_origins)


def content_security_policy(path: str, allowed_origins: tuple[str, ...]) -> str:
    frames = (frame_ancestors(allowed_origins) if path in FRAMEABLE_PATHS
              else "frame-ancestors 'none'")
    styles = ("style-src 'self' 'unsafe-inline'" if path in INLINE_STYLE_PATHS
              else "style-src 'self'")
    return "; ".join((*_BASE_POLICY, styles, frames))


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: static files, errors and WebSocket upgrades included."""
    headers = response.headers
    config = request.config_dict.get(CONFIG)
    origins = config.allowed_origins if config is not None else ()
    headers.setdefault("Content-Security-Policy",
                       content_security_policy(request.path, origins))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.path not in FRAMEABLE_PATHS:
        headers.setdefault("X-Frame-Options", "DENY")  # browsers without frame-ancestors


def add_security_headers_to(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
