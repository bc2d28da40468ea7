"""Every piece of server state a handler may use, as typed ``web.AppKey`` values.

The runtime (``bot.app``) fills them at start-up; handlers read ``request.app[KEY]``. Nothing
else is shared between handlers.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import Engine

from analytics.store.reads import ConversationStore
from bot.channels.sockets import CustomerSockets
from bot.config import Config
from bot.dialogue.conversations import ConversationService
from bot.dialogue.nlu_batcher import NLUService
from bot.monitoring.live import LiveMonitor
from bot.monitoring.metrics import CarebotMetrics
from bot.monitoring.risk_view import RiskView
from bot.privacy import RawText
from bot.web.ratelimit import RateLimiter
from bot.web.sessions import Sessions

CONFIG = web.AppKey("config", Config)
SESSIONS = web.AppKey("sessions", Sessions)  # console / dashboard log-ins, server-side
LIMITER = web.AppKey("rate_limiter", RateLimiter)
RAW_TEXT = web.AppKey("raw_text", RawText)  # encrypts / decrypts the customers' own words
SERVICE = web.AppKey("conversations", ConversationService)
NLU = web.AppKey("nlu", NLUService)
STORE = web.AppKey("store", ConversationStore)
DB = web.AppKey("db", Engine)  # the SQLAlchemy connection pool of the analytics store
SOCKETS = web.AppKey("sockets", CustomerSockets)  # the customers' open WebSockets, by conversation
LIVE = web.AppKey("live_monitor", LiveMonitor)  # live operations snapshot, its sockets, alerts
METRICS = web.AppKey("metrics", CarebotMetrics)  # Prometheus metrics of this process
RISK = web.AppKey("risk", RiskView)  # abuse signals and customer-risk scores for agents
