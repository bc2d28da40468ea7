"""Conversation records in JSON-lines files: the spool written at shutdown, the journal's
segments (analytics/store/journal.py) and the file of records the database refused."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from analytics.store import fastjson
from analytics.store.records import Record, from_json_dict, to_json_dict

logger = logging.getLogger(__name__)

SPOOL_GLOB = "spool-*.jsonl"
REJECTED_FILE = "rejected.jsonl"


def to_line(record: Record) -> str:
    """The record as one JSON line, without the newline."""
    return fastjson.dumps(to_json_dict(record))


def read_records(path: Path) -> list[Record]:
    """The records of a file, in order; an unreadable line (the end of a file whose writer was
    killed mid-line) is skipped with a warning."""
    records = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append(from_json_dict(json.loads(line)))
            except (ValueError, TypeError, KeyError) as exc:
                logger.warning("Skipping unreadable line %d of %s: %s", number, path, exc)
    return records


def write_lines_atomically(path: Path, lines: list[bytes]) -> Path:
    """``path`` holding ``lines`` (one per line), complete and fsynced or not there at all:
    written beside it, then renamed over it."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        for line in lines:
            fh.write(line + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def write_spool(directory: Path, records: list[Record]) -> Path:
    """A new spool file holding ``records``, complete and fsynced or not there at all."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"spool-{stamp}-{os.getpid()}.jsonl"
    return write_lines_atomically(path, [to_line(r).encode("utf-8") for r in records])


def append_rejected(directory: Path, record: Record) -> Path:
    """Add a record the database refused to the directory's rejected file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REJECTED_FILE
    with path.open("a", encoding="utf-8") as fh:
        fh.write(to_line(record) + "\n")
    return path
