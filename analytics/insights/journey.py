"""The customer journey: which stage of buying each conversation is about, how conversations
move between stages, and where sentiment drops on the way."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from analytics.insights.model_store import ModelInfo, report_from_model, save_model
from analytics.reports.scope import C, ReportFilters, has_filters, scope
from analytics.reports.types import Column, Report
from analytics.store.records import naive_utc_now
from analytics.store.schema import Message

logger = logging.getLogger(__name__)

M = Message.__table__
STAGES = ("pre-purchase", "purchase", "delivery", "post-purchase")
START, END = "start", "end"
# Intents not listed (greetings, thanks, yes/no, asking for a person, fallback) belong to no
# stage: the conversation stays in the stage it was in.
STAGE_OF_INTENT: dict[str, str] = {
    "product_recommendation": "pre-purchase",
    "shipping_info": "pre-purchase",
    "payment_issue": "purchase",
    "account_help": "purchase",
    "cancel_order": "purchase",
    "order_status": "delivery",
    "change_address": "delivery",
    "return_item": "post-purchase",
    "refund_status": "post-purchase",
    "complaint": "post-purchase",
}


def stage_of(intent: str | None) -> str | None:
    return STAGE_OF_INTENT.get(intent or "")


@dataclass
class _Tally:
    count: int = 0
    total: float = 0.0
    n: int = 0

    def add(self, value: float | None) -> None:
        self.count += 1
        if value is not None:
            self.total += value
            self.n += 1

    @property
    def mean(self) -> float | None:
        return round(self.total / self.n, 4) if self.n else None


@dataclass
class Journey:
    """Stages and transitions summed over many conversations."""

    conversations: int = 0
    stage_conversations: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stage_sentiment: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    transitions: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # sentiment change across a stage change: first message after minus last message before
    transition_change: dict[tuple[str, str], _Tally] = field(
        default_factory=lambda: defaultdict(_Tally))

    def add_conversation(self, messages: Iterable[tuple[str | None, float | None]]) -> None:
        """Add one conversation's customer messages ``(intent, sentiment score)``, in order."""
        path: list[str] = []
        previous_score: float | None = None
        current: str | None = None
        for intent, score in messages:
            stage = stage_of(intent) or current
            if stage is None:
                previous_score = score if score is not None else previous_score
                continue
            if stage != current:
                source = current or START
                self.transitions[(source, stage)] += 1
                if current is not None and previous_score is not None and score is not None:
                    self.transition_change[(source, stage)].add(score - previous_score)
                if stage not in path:
                    self.stage_conversations[stage] += 1
                path.append(stage)
                current = stage
            self.stage_sentiment[stage].add(score)
            if score is not None:
                previous_score = score
        if current is not None:
            self.transitions[(current, END)] += 1
            self.conversations += 1

    def stage_rows(self) -> list[dict[str, Any]]:
        return [{"stage": s, "conversations": self.stage_conversations.get(s, 0),
                 "messages": self.stage_sentiment[s].count if s in self.stage_sentiment else 0,
                 "avg_sentiment": self.stage_sentiment[s].mean
                 if s in self.stage_sentiment else None} for s in STAGES]

    def transition_rows(self) -> list[dict[str, Any]]:
        rows = []
        for (source, target), count in self.transitions.items():
            change = self.transition_change.get((source, target))
            rows.append({"from_stage": source, "to_stage": target, "conversations": count,
                         "sentiment_change": change.mean if change else None})
        order = {name: i for i, name in enumerate((START, *STAGES, END))}
        rows.sort(key=lambda r: (order[r["from_stage"]], order[r["to_stage"]]))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"conversations": self.conversations, "stages": self.stage_rows(),
                "transitions": self.transition_rows()}


def journey_of(rows: Iterable[tuple[str, str | None, float | None]]) -> Journey:
    """A journey from ``(conversation_id, intent, score)`` rows sorted by conversation, time."""
    journey = Journey()
    for _, messages in _by_conversation(rows):
        journey.add_conversation(messages)
    return journey


def _by_conversation(rows: Iterable[tuple[str, str | None, float | None]]
                     ) -> Iterator[tuple[str, list[tuple[str | None, float | None]]]]:
    current_id, messages = None, []
    for conversation_id, intent, score in rows:
        if conversation_id != current_id:
            if current_id is not None:
                yield current_id, messages
            current_id, messages = conversation_id, []
        messages.append((intent, score))
    if current_id is not None:
        yield current_id, messages


def fit_journey(engine: Engine, models_dir: Path, *,
                fitted_at: datetime | None = None) -> Journey:
    """Walk every customer message once (streamed) and save the journey summary."""
    query = (select(M.c.conversation_id, M.c.intent, M.c.sentiment_score)
             .where(M.c.sender == "user")
             .order_by(M.c.conversation_id, M.c.created_at, M.c.id))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
        journey = journey_of(tuple(row) for row in result)
    save_model(models_dir, "journey", journey.to_dict(), n_rows=journey.conversations,
               fitted_at=fitted_at or naive_utc_now(), metrics={"stages": len(STAGES)})
    return journey


def filtered_journey(conn: Connection, filters: ReportFilters, now: datetime) -> Journey:
    """The journey of only the conversations ``filters`` select, walked now (not the fit)."""
    s = scope(filters, now)
    query = (select(M.c.conversation_id, M.c.intent, M.c.sentiment_score)
             .select_from(s.from_.join(M, M.c.conversation_id == C.c.id))
             .where(*s.where, M.c.sender == "user")
             .order_by(M.c.conversation_id, M.c.created_at, M.c.id))
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
    return journey_of(tuple(row) for row in result)


def journey_report(conn: Connection, filters: ReportFilters, options: Any) -> Report:
    """Transitions between journey stages, biggest sentiment drop first: from the last fit
    when no filter is set, else walked over the filtered conversations."""
    columns = [Column("from_stage", "From"), Column("to_stage", "To"),
               Column("conversations", "Conversations", "int"),
               Column("sentiment_change", "Sentiment change", "float")]
    empty = Report("journey", "Customer journey", columns, [], filters)
    note = ("Sentiment change: the first message in the new stage minus the last one before it.")
    if has_filters(filters):
        journey = filtered_journey(conn, filters, options.at)
        notes = [note] if journey.conversations else [
            "No conversations with a journey stage match these filters."]
        return Report("journey", "Customer journey", columns, journey.transition_rows(),
                      filters, meta={"n_rows": journey.conversations,
                                     "stages": journey.stage_rows(),
                                     "stage_of_intent": STAGE_OF_INTENT, "filtered": True},
                      notes=notes)

    def build(summary: dict[str, Any], info: ModelInfo) -> Report:
        return Report("journey", "Customer journey", columns, summary["transitions"], filters,
                      meta={"fitted_at": info.fitted_at, "n_rows": info.n_rows,
                            "stages": summary["stages"], "stage_of_intent": STAGE_OF_INTENT,
                            "filtered": False},
                      notes=["All conversations (no filter set). " + note])

    return report_from_model("journey", options, empty, build)
