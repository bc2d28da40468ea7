"""The NLU inbox's web API (analysts read it, the admin role labels and exports) and the
project plumbing the terminal's `carebot nlu inbox` shares: the project's intents and the
sentence encoder the NLU pipeline uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from sqlalchemy import Engine

from analytics.insights.nlu_inbox import (
    LOW_CONFIDENCE,
    SIMILARITY,
    InboxError,
    inbox,
    label_messages,
    plan_export,
    write_export,
)
from bot.config import Config
from bot.web.auth import ANALYST_ROLES, require
from bot.web.errors import json_error
from bot.web.keys import CONFIG, DB
from bot.web.origins import forbid_other_origins

BUILDER_ROLES = ("admin",)  # the bot builder: may change the project's training data


def project_intents(project_dir: Path) -> list[str]:
    """The intents the project's domain declares."""
    from bot.dialogue.project.domain_merge import read_domain

    return list(read_domain(Path(project_dir)).sections["intents"])


def encoder_embed(config: Config):
    """texts -> unit vectors, with the encoder the NLU pipeline uses (loaded once)."""
    from nlp.encoder import JOINT_ONNX_FILE, JOINT_ONNX_INT8_FILE, SentenceEncoder

    # The base models live in base_models_dir, or beside a project's models when it was
    # trained with them there (models/metadata.json's base_dir); else plain MiniLM.
    base = next((d for d in (Path(config.base_models_dir), Path(config.models_dir))
                 if any((d / n).exists() for n in (JOINT_ONNX_INT8_FILE, JOINT_ONNX_FILE))),
                None)
    return SentenceEncoder.shared(base).encode


def _float(request: web.Request, name: str, default: float) -> float:
    try:
        value = float(request.query.get(name, default))
    except ValueError:
        raise InboxError(f"'{name}' must be a number between 0 and 1.") from None
    if not 0 <= value <= 1:
        raise InboxError(f"'{name}' must be between 0 and 1.")
    return value


async def list_inbox(request: web.Request) -> web.Response:
    user = require(request, ANALYST_ROLES)
    config: Config = request.config_dict[CONFIG]
    engine: Engine = request.config_dict[DB]
    try:
        threshold = _float(request, "threshold", LOW_CONFIDENCE)
        similarity = _float(request, "similarity", SIMILARITY)
        intents = await asyncio.to_thread(project_intents, config.project_dir)
    except (InboxError, ValueError) as exc:
        return json_error(400, str(exc))

    def read() -> list[dict]:
        groups = inbox(engine, encoder_embed(config), threshold=threshold,
                       similarity=similarity)
        return [g.to_dict() for g in groups]

    groups = await asyncio.to_thread(read)
    return web.json_response({
        "groups": groups, "messages": sum(g["count"] for g in groups),
        "intents": intents, "can_label": user.role in BUILDER_ROLES,
        "threshold": threshold, "similarity": similarity,
    }, headers={"Cache-Control": "no-store"})


async def label(request: web.Request) -> web.Response:
    """{"message_ids": [...], "intent": "..."} or {"message_ids": [...], "out_of_scope": true}"""
    user = require(request, BUILDER_ROLES)
    forbid_other_origins(request)
    config: Config = request.config_dict[CONFIG]
    try:
        body = await request.json()
    except ValueError:
        return json_error(400, "Send JSON: {\"message_ids\": [...], \"intent\": \"...\"}.")
    ids = body.get("message_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 5000:
        return json_error(400, "'message_ids' must be a list of message ids (at most 5000).")
    out_of_scope = body.get("out_of_scope") is True
    intent = None if out_of_scope else body.get("intent")
    if not out_of_scope and not isinstance(intent, str):
        return json_error(400, "Give an 'intent', or 'out_of_scope': true.")
    try:
        intents = await asyncio.to_thread(project_intents, config.project_dir)
        n = await asyncio.to_thread(label_messages, request.config_dict[DB], ids, intent,
                                    by=user.username, known_intents=intents)
    except InboxError as exc:
        return json_error(400, str(exc))
    return web.json_response({"labelled": n, "intent": intent, "out_of_scope": out_of_scope})


async def export(request: web.Request) -> web.Response:
    """GET: the diff an export would make. POST: write it (data/nlu_inbox.yml)."""
    require(request, BUILDER_ROLES)
    config: Config = request.config_dict[CONFIG]
    engine: Engine = request.config_dict[DB]
    if request.method == "POST":
        forbid_other_origins(request)
    try:
        intents = await asyncio.to_thread(project_intents, config.project_dir)
        plan = await asyncio.to_thread(plan_export, engine, config.project_dir, intents)
        if request.method == "POST":
            await asyncio.to_thread(write_export, engine, plan)
    except InboxError as exc:
        return json_error(400, str(exc))
    return web.json_response({**plan.to_dict(), "written": request.method == "POST",
                              "next": "Run `carebot train` to learn the new examples."},
                             headers={"Cache-Control": "no-store"})


def add_nlu_inbox_routes(app: web.Application) -> None:
    app.router.add_get("/api/nlu-inbox", list_inbox)
    app.router.add_post("/api/nlu-inbox/label", label)
    app.router.add_get("/api/nlu-inbox/export", export)
    app.router.add_post("/api/nlu-inbox/export", export)
