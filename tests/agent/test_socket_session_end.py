"""An agent's or analyst's open socket ends with their session: logging out closes it at once,
a new password set from the CLI (another process) closes it within the recheck interval."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from live_server import PASSWORD, carebot, carebot_env

from bot.web.sessions import ENDED, RECHECK_SECONDS

pytestmark = pytest.mark.slow


async def log_in(http: aiohttp.ClientSession, server, username: str,
                 password: str = PASSWORD) -> dict:
    async with http.post(server.url + "/auth/login",
                         json={"username": username, "password": password}) as response:
        assert response.status == 200
        token = response.cookies["carebot_session"].value
    return {"Authorization": f"Bearer {token}"}


async def closed_with(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> int | None:
    async with asyncio.timeout(timeout):
        while True:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING):
                return ws.close_code


async def test_logging_out_closes_the_agents_open_console_socket(server):
    async with aiohttp.ClientSession() as http:
        headers = await log_in(http, server, "alice")
        ws = await http.ws_connect(server.url + "/agent/ws", headers=headers)
        assert (await ws.receive_json())["type"] == "hello"
        async with http.post(server.url + "/auth/logout", headers=headers) as response:
            assert response.status in (200, 204)
        assert await closed_with(ws, timeout=10) == ENDED
        with pytest.raises(aiohttp.WSServerHandshakeError) as again:
            await http.ws_connect(server.url + "/agent/ws", headers=headers)
        assert again.value.status == 401


async def test_a_new_password_from_the_cli_closes_the_analysts_live_socket(server):
    name = f"analyst-{uuid.uuid4().hex[:6]}"
    env = carebot_env(server.database_url)
    carebot("users", "add", name, "--role", "analyst", env={**env, "CAREBOT_PASSWORD": PASSWORD})
    async with aiohttp.ClientSession() as http:
        headers = await log_in(http, server, name)
        ws = await http.ws_connect(server.url + "/api/live/ws", headers=headers)
        assert (await ws.receive_json())["type"] == "hello"
        carebot("users", "password", name, env={**env, "CAREBOT_PASSWORD": "another-secret-9"})
        assert await closed_with(ws, timeout=RECHECK_SECONDS + 15) == ENDED
