"""The NLU inbox (what Rasa X's did): the customer messages the bot understood worst, grouped
by meaning, for a bot builder to label with the intent they meant or mark out of scope; the
labelled ones are written into the project's NLU data for the next ``carebot train``.

Worst understood: a fallback, an intent below the confidence threshold, or the last message
before the conversation was handed to a person. Messages are grouped by the cosine
similarity of their sentence embeddings (the encoder the NLU pipeline uses): each joins the
first group whose first message it is at least ``similarity`` alike, else starts one.

Labels go into ``data/nlu_inbox.yml`` (a file of Carebot's own in the project's data folder,
which Rasa and Carebot both read as NLU data), never into hand-written files; a diff is shown
before anything is written.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sqlalchemy import Engine, and_, func, insert, or_, select, update

from analytics.store.records import naive_utc_now
from analytics.store.schema import Escalation, Message, NluReviewLabel

M = Message.__table__
E = Escalation.__table__
L = NluReviewLabel.__table__
FALLBACK_INTENT = "nlu_fallback"  # Rasa's
OUT_OF_SCOPE_INTENT = "out_of_scope"  # Rasa's convention for an out-of-scope intent
LOW_CONFIDENCE = 0.5
SIMILARITY = 0.55  # MiniLM: "where is my parcel" ~ "wheres my package" is 0.53
MAX_MESSAGES = 2000
INBOX_FILE = Path("data") / "nlu_inbox.yml"
_PLACEHOLDER = re.compile(r"\[[A-Z]+\]")  # redacted personal data: not a training example
_INTENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_HEADER = ("# Written by `carebot nlu inbox export` from the messages labelled in the NLU "
           "inbox.\n# Edit freely; new labels are merged in, nothing is removed.\n")

Embed = Callable[[list[str]], np.ndarray]  # texts -> (n, d) unit vectors


class InboxError(ValueError):
    """A label or export that cannot work; the message says what to do."""


@dataclass
class InboxMessage:
    message_id: str
    conversation_id: str
    text: str
    intent: str | None
    confidence: float | None
    why: str  # fallback | low_confidence | before_handoff
    created_at: datetime


@dataclass
class InboxGroup:
    key: str  # stable while its first message is unlabelled: a hash of that message's id
    messages: list[InboxMessage] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.messages)

    def to_dict(self) -> dict[str, Any]:
        intents: dict[str, int] = {}
        for m in self.messages:
            intents[m.intent or ""] = intents.get(m.intent or "", 0) + 1
        return {"key": self.key, "count": self.count,
                "example": self.messages[0].text,
                "predicted": sorted(intents.items(), key=lambda kv: -kv[1]),
                "messages": [{"message_id": m.message_id, "conversation_id": m.conversation_id,
                              "text": m.text, "intent": m.intent, "confidence": m.confidence,
                              "why": m.why, "created_at": m.created_at.isoformat()}
                             for m in self.messages]}


def worst_understood(engine: Engine, *, threshold: float = LOW_CONFIDENCE,
                     limit: int = MAX_MESSAGES) -> list[InboxMessage]:
    """Unlabelled customer messages the bot fell back on, was unsure of, or handed over
    right after; newest first."""
    labelled = select(L.c.message_id).where(L.c.message_id == M.c.id).exists()
    customer = M.c.sender == "user"
    with engine.connect() as conn:
        rows = conn.execute(
            select(M.c.id, M.c.conversation_id, M.c.text, M.c.intent, M.c.confidence,
                   M.c.created_at)
            .where(customer, ~labelled,
                   or_(M.c.intent == FALLBACK_INTENT, M.c.confidence < threshold))
            .order_by(M.c.created_at.desc(), M.c.id).limit(limit)).all()
        # The last customer message before each hand-off: the bot had not helped.
        first_handoff = (select(E.c.conversation_id, func.min(E.c.created_at).label("at"))
                         .group_by(E.c.conversation_id).subquery())
        last_before = (select(M.c.conversation_id, func.max(M.c.created_at).label("at"))
                       .select_from(M.join(first_handoff, and_(
                           first_handoff.c.conversation_id == M.c.conversation_id,
                           M.c.created_at <= first_handoff.c.at)))
                       .where(customer).group_by(M.c.conversation_id).subquery())
        handed = conn.execute(
            select(M.c.id, M.c.conversation_id, M.c.text, M.c.intent, M.c.confidence,
                   M.c.created_at)
            .select_from(M.join(last_before, and_(
                last_before.c.conversation_id == M.c.conversation_id,
                last_before.c.at == M.c.created_at)))
            .where(customer, ~labelled)
            .order_by(M.c.created_at.desc(), M.c.id).limit(limit)).all()
    out: dict[str, InboxMessage] = {}
    for r in rows:
        why = "fallback" if r.intent == FALLBACK_INTENT else "low_confidence"
        out[r.id] = InboxMessage(r.id, r.conversation_id, r.text, r.intent, r.confidence, why,
                                 r.created_at)
    for r in handed:
        out.setdefault(r.id, InboxMessage(r.id, r.conversation_id, r.text, r.intent,
                                          r.confidence, "before_handoff", r.created_at))
    return sorted(out.values(), key=lambda m: (m.created_at, m.message_id), reverse=True)[:limit]


def group_messages(messages: Sequence[InboxMessage], embed: Embed, *,
                   similarity: float = SIMILARITY) -> list[InboxGroup]:
    """Groups of alike messages, biggest first (ties: newest first)."""
    if not messages:
        return []
    vectors = np.asarray(embed([m.text for m in messages]), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms > 0, norms, 1)
    # Oldest first, so a group's key message (its first) stays the same as new ones arrive.
    order = sorted(range(len(messages)), key=lambda i: (messages[i].created_at,
                                                        messages[i].message_id))
    heads: list[int] = []
    members: list[list[int]] = []
    for i in order:
        if heads:
            sims = vectors[heads] @ vectors[i]
            best = int(np.argmax(sims))
            if sims[best] >= similarity:
                members[best].append(i)
                continue
        heads.append(i)
        members.append([i])
    groups = [InboxGroup(_key(messages[idx[0]].message_id),
                         [messages[i] for i in sorted(idx, key=lambda i: (
                             messages[i].created_at, messages[i].message_id), reverse=True)])
              for idx in members]
    groups.sort(key=lambda g: (-g.count, -g.messages[0].created_at.timestamp()))
    return groups


def _key(message_id: str) -> str:
    return hashlib.sha1(message_id.encode()).hexdigest()[:10]


def inbox(engine: Engine, embed: Embed, **kwargs: Any) -> list[InboxGroup]:
    """The unlabelled worst-understood messages, grouped."""
    similarity = kwargs.pop("similarity", SIMILARITY)
    return group_messages(worst_understood(engine, **kwargs), embed, similarity=similarity)


def label_messages(engine: Engine, message_ids: Sequence[str], intent: str | None, *,
                   by: str, known_intents: Sequence[str] | None = None) -> int:
    """Label customer messages with ``intent`` (None: out of scope). Returns how many were
    labelled; messages already labelled keep their label."""
    if intent is not None:
        intent = intent.strip()
        if not _INTENT_NAME.match(intent):
            raise InboxError(f"{intent!r} is not an intent name: use letters, digits and _, "
                             "starting with a letter (at most 64 characters).")
        if known_intents is not None and intent not in known_intents:
            raise InboxError(f"The project has no intent {intent!r}; add it to the domain "
                             f"first, or choose one of: {', '.join(sorted(known_intents))}.")
    if not message_ids:
        raise InboxError("No messages to label.")
    now = naive_utc_now()
    with engine.begin() as conn:
        rows = conn.execute(
            select(M.c.id, M.c.text, M.c.intent)
            .where(M.c.id.in_(list(message_ids)), M.c.sender == "user",
                   ~select(L.c.message_id).where(L.c.message_id == M.c.id).exists())).all()
        if rows:
            conn.execute(insert(L), [{"message_id": r.id, "text": r.text, "intent": intent,
                                      "predicted_intent": r.intent, "labelled_by": by,
                                      "labelled_at": now, "exported_at": None} for r in rows])
    return len(rows)


@dataclass
class ExportPlan:
    """What an export would write: the file, its new text, the diff, and what is left out."""

    path: Path
    old_text: str
    new_text: str
    added: dict[str, list[str]]  # intent -> new examples
    message_ids: list[str]
    skipped: dict[str, int]  # reason -> messages not written

    @property
    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.old_text.splitlines(keepends=True), self.new_text.splitlines(keepends=True),
            fromfile=f"a/{INBOX_FILE.as_posix()}", tofile=f"b/{INBOX_FILE.as_posix()}"))

    @property
    def changes(self) -> bool:
        return self.new_text != self.old_text

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "diff": self.diff, "added": self.added,
                "examples": sum(len(v) for v in self.added.values()),
                "skipped": self.skipped}


def plan_export(engine: Engine, project_dir: Path,
                known_intents: Sequence[str]) -> ExportPlan:
    """The labelled, not yet exported messages merged into ``data/nlu_inbox.yml``."""
    path = Path(project_dir) / INBOX_FILE
    old_text = path.read_text(encoding="utf-8") if path.exists() else ""
    existing = _read_inbox_file(path, old_text)
    with engine.connect() as conn:
        rows = conn.execute(select(L.c.message_id, L.c.text, L.c.intent)
                            .where(L.c.exported_at.is_(None))
                            .order_by(L.c.labelled_at, L.c.message_id)).all()
    added: dict[str, list[str]] = {}
    skipped: dict[str, int] = {}
    seen = {(intent, t.lower()) for intent, texts in existing.items() for t in texts}
    ids = []
    for r in rows:
        intent = r.intent if r.intent is not None else OUT_OF_SCOPE_INTENT
        text = " ".join(r.text.split())
        if r.intent is None and OUT_OF_SCOPE_INTENT not in known_intents:
            reason = "out of scope (the project has no out_of_scope intent)"
        elif _PLACEHOLDER.search(text) or "](" in text:
            reason = "holds redacted personal data"
        elif intent not in known_intents:
            reason = "intent no longer in the project"
        elif not text:
            reason = "empty"
        else:
            reason = None
        ids.append(r.message_id)  # judged once: a skipped label is not offered again
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        if (intent, text.lower()) in seen:
            continue
        seen.add((intent, text.lower()))
        added.setdefault(intent, []).append(text)
    merged = {k: list(v) for k, v in existing.items()}
    for intent, texts in added.items():
        merged.setdefault(intent, []).extend(texts)
    new_text = render_inbox_file(merged) if merged else old_text
    return ExportPlan(path, old_text, new_text, added, ids, skipped)


def write_export(engine: Engine, plan: ExportPlan) -> None:
    """Write the planned file (atomically) and mark its labels exported."""
    if plan.changes:
        plan.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = plan.path.with_suffix(".yml.tmp")
        tmp.write_text(plan.new_text, encoding="utf-8")
        tmp.replace(plan.path)
    if plan.message_ids:
        with engine.begin() as conn:
            conn.execute(update(L).where(L.c.message_id.in_(plan.message_ids),
                                         L.c.exported_at.is_(None))
                         .values(exported_at=naive_utc_now()))


def render_inbox_file(examples: dict[str, list[str]]) -> str:
    """Rasa 3.x NLU YAML: one block per intent, examples as '- ' lines."""
    lines = [_HEADER, 'version: "3.1"\n', "\n", "nlu:\n"]
    for intent in sorted(examples):
        lines.append(f"- intent: {intent}\n")
        lines.append("  examples: |\n")
        lines.extend(f"    - {text}\n" for text in examples[intent])
    return "".join(lines)


def _read_inbox_file(path: Path, text: str) -> dict[str, list[str]]:
    if not text.strip():
        return {}
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InboxError(f"{path} is not valid YAML ({exc}); fix or delete it and export "
                         "again.") from None
    out: dict[str, list[str]] = {}
    for block in data.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            raise InboxError(f"{path} holds more than intent blocks; Carebot writes only "
                             "intents there. Move the rest to another data file.")
        raw = block.get("examples") or ""
        texts = [line.strip()[2:].strip() for line in str(raw).splitlines()
                 if line.strip().startswith("- ")]
        out.setdefault(str(block["intent"]), []).extend(texts)
    return out
