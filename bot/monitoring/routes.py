"""Monitoring's web side and runtime: the live operations page and socket, alerts, and
Prometheus' ``/metrics``. Register with ``add_monitoring(app)`` after the agent console.

    GET /analytics/live        the live operations page (analysts and admins)
    GET /api/live              the current snapshot (agents, analysts, admins)
    GET /api/live/ws           live snapshots pushed as they change (same roles)
    GET /api/alerts            alerts raised, newest first, with when they cleared (analysts)
    GET /metrics               Prometheus text format; needs ``Authorization: Bearer
                               <CAREBOT_METRICS_TOKEN>``, or serve it on an admin-only
                               address (``monitoring.metrics_address``) instead
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import WSMsgType, web

from analytics.store.operations import alerts as stored_alerts
from analytics.store.operations import record_delivery
from analytics.store.records import EventRecord
from analytics.store.shop import ShopRepository
from bot.console.routes import CONSOLE
from bot.monitoring.abuse import AbuseAssessment, AbuseGuard
from bot.monitoring.alerts import AlertEngine
from bot.monitoring.live import LiveMonitor
from bot.monitoring.metrics import CONTENT_TYPE, CarebotMetrics, CountingLogHandler, TimedParser
from bot.monitoring.risk_view import RiskView
from bot.monitoring.webhook import AlertWebhook, Delivery
from bot.web.auth import AGENT_ROLES, ANALYST_ROLES, forget_session, require, watch_session
from bot.web.errors import http_error
from bot.web.keys import CONFIG, DB, LIVE, METRICS, NLU, RISK, SERVICE, SOCKETS
from bot.web.origins import forbid_other_origins

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parents[1] / "static"
LIVE_ROLES = tuple(dict.fromkeys((*ANALYST_ROLES, *AGENT_ROLES)))
FALLBACK_INTENT = "nlu_fallback"
WRITER_LOGGER = "analytics.store.writer"


# -- pages and API ------------------------------------------------------------------------------


async def live_page(request: web.Request) -> web.FileResponse:
    # The page holds no data; the socket checks the role.
    return web.FileResponse(STATIC_DIR / "live.html", headers={"Cache-Control": "no-cache"})


async def live_asset(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / f"live.{request.match_info['ext']}",
                            headers={"Cache-Control": "no-cache"})


async def live_snapshot(request: web.Request) -> web.Response:
    require(request, LIVE_ROLES)
    monitor = request.config_dict[LIVE]
    if monitor.snapshot is None:
        await monitor._refresh_once()
    return web.json_response(monitor.snapshot.to_dict())


async def live_socket(request: web.Request) -> web.WebSocketResponse:
    user = require(request, LIVE_ROLES)
    forbid_other_origins(request)
    monitor = request.config_dict[LIVE]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    monitor.sockets.add(ws)
    watch_session(request, ws)  # a logout closes it
    try:
        await ws.send_json({"type": "hello", "user": {"username": user.username,
                                                      "role": user.role}})
        if monitor.snapshot is not None:
            await ws.send_json({"type": "live", "snapshot": monitor.snapshot.to_dict()})
        monitor.refresh()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == '{"type":"ping"}':
                await ws.send_json({"type": "pong"})
    finally:
        monitor.sockets.discard(ws)
        forget_session(request, ws)
    return ws


async def alert_history(request: web.Request) -> web.Response:
    require(request, ANALYST_ROLES)
    rows = await asyncio.to_thread(stored_alerts, request.config_dict[DB], limit=100)
    return web.json_response({"alerts": [a.to_dict() for a in rows]})


def _metrics_response(metrics: CarebotMetrics) -> web.Response:
    response = web.Response(body=metrics.render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def metrics_handler(request: web.Request) -> web.Response:
    settings = request.config_dict[CONFIG].monitoring
    if not settings.metrics_token:
        raise http_error(web.HTTPNotFound, "metrics are served only with a token: set "
                         "CAREBOT_METRICS_TOKEN (then send Authorization: Bearer <token>) or "
                         "monitoring.metrics_address in carebot.yml for an admin-only listener")
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
        raise http_error(web.HTTPUnauthorized, "send Authorization: Bearer <the metrics token "
                         "(CAREBOT_METRICS_TOKEN)>", headers={"WWW-Authenticate": "Bearer"})
    return await asyncio.to_thread(_metrics_response, request.config_dict[METRICS])


# -- the runtime --------------------------------------------------------------------------------


def _metrics_listener(metrics: CarebotMetrics):
    async def on_event(conversation_id: str, event: dict) -> None:
        if event.get("type") == "turn":
            channel = str(event.get("channel") or "unknown")
            metrics.turns.labels(channel).inc()
            if event.get("intent") == FALLBACK_INTENT:
                metrics.fallbacks.labels(channel).inc()
            first = (event.get("records") or [None])[0]
            if first is not None and getattr(first, "sender", None) == "user":
                received = first.created_at
                now = datetime.now(UTC).replace(tzinfo=None)
                metrics.turn_latency.labels(channel).observe(
                    max(0.0, (now - received).total_seconds()))
        elif event.get("type") == "escalation":
            metrics.escalations.labels(str(event.get("reason") or "unknown")).inc()

    return on_event


async def _metrics_site(app_metrics: CarebotMetrics, address: str) -> web.AppRunner:
    """A listener that serves only /metrics, on an address only admins reach."""
    async def serve(request: web.Request) -> web.Response:
        return await asyncio.to_thread(_metrics_response, app_metrics)

    site_app = web.Application()
    site_app.router.add_get("/metrics", serve)
    runner = web.AppRunner(site_app, access_log=None)
    await runner.setup()
    host, _, port = address.rpartition(":")
    # reuse_port: every worker of `carebot serve --workers N` listens; any one answers for all
    await web.TCPSite(runner, host or "127.0.0.1", int(port), reuse_port=True).start()
    logger.info("metrics served on http://%s/metrics", address)
    return runner


async def _monitoring_runtime(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    settings = config.monitoring
    service, db = app[SERVICE], app[DB]
    metrics = CarebotMetrics(settings.metrics_dir)
    loop = asyncio.get_running_loop()

    def delivered(outcome: Delivery) -> None:
        metrics.webhook_deliveries.labels("delivered" if outcome.delivered else "failed").inc()
        alert_id, _, state = outcome.delivery_id.partition(":")
        loop.run_in_executor(None, record_delivery, db, alert_id, state, outcome.attempts,
                             outcome.status, outcome.error)

    webhook = AlertWebhook(settings.webhook, on_outcome=delivered)
    webhook.start()
    console = app.get(CONSOLE)

    def agents_here() -> set[str]:
        return {user.username for user in console.agent_sockets.values()} if console else set()

    monitor = LiveMonitor(db, service.hub, settings,
                          AlertEngine(settings.alerts, db, webhook, service.lock),
                          agents_here=agents_here, metrics=metrics)

    def gauges() -> None:
        metrics.websockets.labels("customer").set(len(app[SOCKETS]))
        metrics.websockets.labels("agent").set(len(console.agent_sockets) if console else 0)
        metrics.websockets.labels("live").set(len(monitor.sockets))
        metrics.log_backlog.set(service.log.pending)

    monitor.gauges = gauges
    risk = RiskView(config.abuse, config.models_dir, ShopRepository(db))

    def record(conversation_id: str, assessment: AbuseAssessment) -> None:
        metrics.abuse_signals.labels(assessment.level).inc()
        service.log.write(EventRecord(conversation_id=conversation_id, type="abuse_signal",
                                      actor="carebot.monitoring", data=assessment.to_dict()))

    service.processor.abuse_guard = AbuseGuard(config.abuse, history=risk.history,
                                               record=record)
    service.add_listener(monitor.on_conversation_event)
    service.add_listener(_metrics_listener(metrics))
    nlu = app[NLU]
    nlu.parser = TimedParser(nlu.parser, metrics.nlu_latency)
    failures = CountingLogHandler(metrics.log_write_failures)
    logging.getLogger(WRITER_LOGGER).addHandler(failures)
    runner = await _metrics_site(metrics, settings.metrics_address) \
        if settings.metrics_address else None
    app[METRICS], app[LIVE], app[RISK] = metrics, monitor, risk
    if console is not None:
        console.desk.risk = risk  # the agent's risk badge and profile panel
    await monitor.start()
    yield
    await monitor.close()
    await webhook.close()
    logging.getLogger(WRITER_LOGGER).removeHandler(failures)
    if runner is not None:
        await runner.cleanup()
    metrics.close()


def add_monitoring(app: web.Application) -> None:
    """Add the live page, its socket, alerts and /metrics; start after the agent console."""
    app.cleanup_ctx.append(_monitoring_runtime)
    app.router.add_get("/analytics/live", live_page)
    app.router.add_get("/analytics/live.{ext:js|css}", live_asset)
    app.router.add_get("/api/live", live_snapshot)
    app.router.add_get("/api/live/ws", live_socket)
    app.router.add_get("/api/alerts", alert_history)
    app.router.add_get("/metrics", metrics_handler)
