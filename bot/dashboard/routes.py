"""The analytics dashboard: the /analytics page, its JSON API and CSV exports (analysts only).

Register with ``add_dashboard_routes(app)`` in ``create_app``; the handlers use the app's
analytics store (``DB``) and configuration (``CONFIG``); log-ins are resolved by bot.web.auth.

The routes are added to the app itself, not mounted as a sub-application: aiohttp mounts a
sub-application under one prefix, and the dashboard's URLs live under two (/analytics for
the page, /api/reports and /api/export for the data), which clients already use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import plotly
from aiohttp import web
from sqlalchemy import Engine

from analytics.insights.model_store import model_infos
from analytics.reports.export import message_log_csv, report_csv
from analytics.reports.labels import labels
from analytics.reports.registry import REPORTS, ReportOptions, run_report
from analytics.reports.scope import OUTCOMES, ReportError, ReportFilters, filter_values
from analytics.reports.transcript import TranscriptNotFound, transcript
from analytics.store.records import naive_utc_now
from bot.dashboard.nlu_inbox import add_nlu_inbox_routes
from bot.web.auth import ANALYST_ROLES, require
from bot.web.errors import json_error
from bot.web.keys import CONFIG, DB
from bot.web.origins import forbid_other_origins

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parents[1] / "static"
REFIT_LOCK = web.AppKey("dashboard_refit_lock", asyncio.Lock)
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _engine(request: web.Request) -> Engine:
    return request.config_dict[DB]


def _models_dir(request: web.Request) -> Path:
    return Path(request.config_dict[CONFIG].models_dir)


def _filters_and_options(request: web.Request) -> tuple[ReportFilters, ReportOptions]:
    query = request.query
    filters = ReportFilters.from_query(query)
    try:
        limit = int(query.get("limit", "50"))
        min_conversations = int(query.get("min_conversations", "5"))
    except ValueError:
        raise ReportError("'limit' and 'min_conversations' must be whole numbers.") from None
    options = ReportOptions(period=query.get("period", "day"), limit=limit,
                            min_conversations=min_conversations,
                            measure=query.get("measure", "auto"),
                            models_dir=_models_dir(request))
    return filters, options


async def analytics_page(request: web.Request) -> web.FileResponse:
    # The page holds no data; every number comes from the API, which checks the role.
    return web.FileResponse(STATIC_DIR / "analytics.html",
                            headers={"Cache-Control": "no-cache"})


async def page_asset(request: web.Request) -> web.FileResponse:
    name = "analytics." + request.match_info["ext"]
    return web.FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-cache"})


async def plotly_js(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PLOTLY_JS, headers={"Cache-Control": "public, max-age=86400"})


async def list_reports(request: web.Request) -> web.Response:
    """The reports, the values each filter can take, and when the models were fitted."""
    user = require(request, ANALYST_ROLES)
    engine = _engine(request)
    choices = await asyncio.to_thread(filter_values, engine)
    infos = model_infos(_models_dir(request))
    return web.json_response({
        "user": {"username": user.username, "role": user.role},
        "reports": [{"name": s.name, "title": s.title} for s in REPORTS.values()],
        "filters": {**choices, "outcome": list(OUTCOMES), "period": ["day", "week"]},
        # raw name -> words (the page shows the words, the raw name on hover)
        "labels": labels([*choices["intent"], *choices["channel"], *choices["segment"],
                          *OUTCOMES]),
        "models": {name: None if info is None else info.to_dict()
                   for name, info in infos.items()},
    })


async def get_report(request: web.Request) -> web.Response:
    require(request, ANALYST_ROLES)
    name = request.match_info["name"]
    try:
        filters, options = _filters_and_options(request)
        report = await asyncio.to_thread(run_report, _engine(request), name, filters, options)
    except ReportError as exc:
        status = 404 if name not in REPORTS else 400
        return json_error(status, str(exc))
    return web.json_response(report.to_dict())


async def get_transcript(request: web.Request) -> web.Response:
    """One conversation's redacted messages, for the dashboard's drill-down."""
    require(request, ANALYST_ROLES)
    conversation_id = request.match_info["conversation_id"]

    def read() -> dict:
        with _engine(request).connect() as conn:
            return transcript(conn, conversation_id, naive_utc_now())

    try:
        body = await asyncio.to_thread(read)
    except TranscriptNotFound as exc:
        return json_error(404, str(exc))
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def refit_models(request: web.Request) -> web.Response:
    """Fit the drivers and segment models on the filtered conversations (nothing saved)."""
    require(request, ANALYST_ROLES)
    forbid_other_origins(request)  # a POST: no cross-site requests
    from analytics.insights.refit import refit_on_filters

    try:
        filters, options = _filters_and_options(request)
    except ReportError as exc:
        return json_error(400, str(exc))
    lock = request.config_dict[REFIT_LOCK]
    if lock.locked():  # two cores shared by everyone: one fit at a time
        return json_error(429, "A refit is already running; try again when it has finished.")
    async with lock:
        body = await asyncio.to_thread(refit_on_filters, _engine(request), filters, options)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def get_report_csv(request: web.Request) -> web.StreamResponse:
    require(request, ANALYST_ROLES)
    name = request.match_info["name"]
    try:
        filters, options = _filters_and_options(request)
        if name not in REPORTS:
            raise ReportError(f"There is no report called {name!r}.")
    except ReportError as exc:
        return json_error(404 if name not in REPORTS else 400, str(exc))
    engine = _engine(request)

    def chunks() -> Iterator[bytes]:
        yield from report_csv(run_report(engine, name, filters, options))

    return await stream_csv(request, f"{name}-{date.today().isoformat()}.csv", chunks)


async def export_messages(request: web.Request) -> web.StreamResponse:
    """The redacted message log of the filtered conversations, streamed as CSV."""
    require(request, ANALYST_ROLES)
    try:
        filters, options = _filters_and_options(request)
    except ReportError as exc:
        return json_error(400, str(exc))
    engine = _engine(request)
    return await stream_csv(request, f"messages-{date.today().isoformat()}.csv",
                            lambda: message_log_csv(engine, filters, options))


async def stream_csv(request: web.Request, filename: str,
                     make_chunks: Callable[[], Iterator[bytes]]) -> web.StreamResponse:
    """Send the chunks as they are produced; the database is read on one worker thread."""
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
    loop = asyncio.get_running_loop()
    # One thread for the whole export: the generator's database connection stays on it.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="carebot-export")
    chunks = None
    try:
        chunks = await loop.run_in_executor(executor, make_chunks)
        first = await loop.run_in_executor(executor, next, chunks, None)
        await response.prepare(request)
        chunk = first
        while chunk is not None:
            await response.write(chunk)
            chunk = await loop.run_in_executor(executor, next, chunks, None)
        await response.write_eof()
    except ReportError as exc:
        if not response.prepared:
            return json_error(400, str(exc))
        raise
    finally:
        if chunks is not None and hasattr(chunks, "close"):
            await loop.run_in_executor(executor, chunks.close)
        executor.shutdown(wait=False)
    return response


def add_dashboard_routes(app: web.Application) -> None:
    """Add /analytics, /api/reports/... and /api/export/messages.csv to ``app``."""
    app.router.add_get("/analytics", analytics_page)
    app.router.add_get("/analytics/plotly.min.js", plotly_js)
    app.router.add_get("/analytics/analytics.{ext:js|css}", page_asset)
    app.router.add_get("/api/reports", list_reports)
    app.router.add_get("/api/reports/{name:[a-z0-9-]+}.csv", get_report_csv)
    app.router.add_get("/api/reports/{name:[a-z0-9-]+}", get_report)
    app.router.add_get("/api/export/messages.csv", export_messages)
    app.router.add_get("/api/analytics/conversations/{conversation_id}", get_transcript)
    app.router.add_post("/api/models/refit", refit_models)
    add_nlu_inbox_routes(app)
    app[REFIT_LOCK] = asyncio.Lock()
