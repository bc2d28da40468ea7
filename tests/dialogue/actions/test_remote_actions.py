"""RemoteActions speaks Rasa's action-server protocol and never hangs a turn."""

from __future__ import annotations

import asyncio
import time

import pytest
from action_projects import DOMAIN, free_port, tracker
from aiohttp import web

from bot.dialogue.actions import (
    ActionFailed,
    ActionNotFound,
    ActionRejected,
    ActionServerUnavailable,
    RemoteActions,
)
from bot.dialogue.project.model import Endpoints


async def serve(aiohttp_server, handler):
    app = web.Application()
    app.router.add_post("/webhook", handler)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}/webhook"


async def test_an_action_server_that_is_down_is_unavailable_and_says_how_to_start_it():
    url = f"http://127.0.0.1:{free_port()}/webhook"  # nothing listens there
    runner = RemoteActions(url, timeout=2)
    started = time.monotonic()

    with pytest.raises(ActionServerUnavailable, match="carebot run actions") as caught:
        await runner.run("action_greet_by_name", tracker(), DOMAIN)

    assert time.monotonic() - started < 2
    assert url in str(caught.value)
    await runner.close()


async def test_an_action_server_that_never_answers_gives_up_after_the_timeout(aiohttp_server):
    async def stuck(request):
        await asyncio.sleep(30)
        return web.json_response({})

    url = await serve(aiohttp_server, stuck)
    runner = RemoteActions(url, timeout=0.5)
    started = time.monotonic()

    with pytest.raises(ActionServerUnavailable, match=r"did not answer .* within 0.5 s"):
        await runner.run("action_greet_by_name", tracker(), DOMAIN)

    assert 0.4 < time.monotonic() - started < 2
    await runner.close()


async def test_the_call_carries_rasas_fields_and_the_token(aiohttp_server):
    seen = {}

    async def record(request):
        seen["body"], seen["query"] = await request.json(), dict(request.query)
        return web.json_response({"events": [{"event": "slot", "name": "x", "value": 1}],
                                  "responses": [{"text": "done"}]})

    runner = RemoteActions(await serve(aiohttp_server, record), token="s3cret")

    result = await runner.run("action_x", tracker("c-9"), DOMAIN)

    assert set(seen["body"]) == {"next_action", "sender_id", "tracker", "domain", "version"}
    assert seen["body"]["next_action"] == "action_x"
    assert seen["body"]["sender_id"] == "c-9"
    assert seen["body"]["domain"] == DOMAIN
    assert seen["query"] == {"token": "s3cret"}
    assert result.events == [{"event": "slot", "name": "x", "value": 1}]
    assert result.responses == [{"text": "done"}]
    await runner.close()


async def test_a_400_with_the_action_name_is_a_rejection(aiohttp_server):
    async def reject(request):
        return web.json_response({"action_name": "action_x", "error": "not now"}, status=400)

    runner = RemoteActions(await serve(aiohttp_server, reject))

    with pytest.raises(ActionRejected, match="not now") as caught:
        await runner.run("action_x", tracker(), DOMAIN)
    assert caught.value.action_name == "action_x"
    await runner.close()


async def test_a_404_is_an_unknown_action(aiohttp_server):
    async def missing(request):
        return web.json_response({"action_name": "action_x",
                                  "error": "No registered action found for name 'action_x'."},
                                 status=404)

    runner = RemoteActions(await serve(aiohttp_server, missing))

    with pytest.raises(ActionNotFound, match="has no action 'action_x'"):
        await runner.run("action_x", tracker(), DOMAIN)
    await runner.close()


async def test_a_server_error_is_a_failed_action_with_the_servers_message(aiohttp_server):
    async def broken(request):
        return web.json_response({"error": "division by zero"}, status=500)

    runner = RemoteActions(await serve(aiohttp_server, broken))

    with pytest.raises(ActionFailed, match="HTTP 500: division by zero"):
        await runner.run("action_x", tracker(), DOMAIN)
    await runner.close()


async def test_endpoints_yml_options_configure_the_runner(aiohttp_server):
    seen = {}

    async def record(request):
        seen["query"], seen["shop"] = dict(request.query), request.headers.get("X-Shop")
        return web.json_response({"events": [], "responses": []})

    endpoints = Endpoints(action_endpoint_url=await serve(aiohttp_server, record),
                          action_endpoint_token="t",
                          action_endpoint_options={"token_name": "api_key", "timeout": 3,
                                                   "headers": {"X-Shop": "1"}})
    runner = RemoteActions.from_endpoints(endpoints)

    await runner.run("action_x", tracker(), DOMAIN)

    assert runner.timeout == 3.0
    assert seen == {"query": {"api_key": "t"}, "shop": "1"}
    await runner.close()


def test_no_action_endpoint_means_no_remote_runner():
    assert RemoteActions.from_endpoints(Endpoints()) is None
