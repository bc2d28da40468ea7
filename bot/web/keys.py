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
from bot.web.sessions import AccountCache, SessionSigner

CONFIG = web.AppKey("config", Config)
SIGNER = web.AppKey("session_signer", SessionSigner)
ACCOUNTS = web.AppKey("accounts", AccountCache)  # user id -> (username, role), briefly cached
SERVICE = web.AppKey("conversations", ConversationService)
NLU = web.AppKey("nlu", NLUService)
STORE = web.AppKey("store", ConversationStore)
DB = web.AppKey("db", Engine)  # the SQLAlchemy connection pool of the analytics store
SOCKETS = web.AppKey("sockets", CustomerSockets)  # the customers' open WebSockets, by conversation
