"""Event-broker messages kept on disk while RabbitMQ is away: JSON-lines files, each complete
and fsynced or not there at all (as analytics/store/record_files.py writes the log's spool).

A file is claimed by renaming it before it is sent, so two server processes sharing the folder
never both send it; a claim whose process died is taken over."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from analytics.store.record_files import write_lines_atomically

logger = logging.getLogger(__name__)

SPOOL_GLOB = "events-*.jsonl"
CLAIMED = ".sending-"


def write_spool(directory: Path, bodies: list[bytes]) -> Path:
    """A new spool file holding ``bodies`` (one JSON message each), oldest first."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"events-{stamp}-{os.getpid()}.jsonl"
    return write_lines_atomically(path, bodies)


def read_spool(path: Path) -> list[bytes]:
    """The messages of a spool file, in order (empty lines skipped)."""
    with path.open("rb") as fh:
        return [line.rstrip(b"\n") for line in fh if line.strip()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_next(directory: Path) -> Path | None:
    """The oldest spool file, renamed so that only this process sends it; None when none."""
    if not directory.is_dir():
        return None
    candidates = sorted(directory.glob(SPOOL_GLOB))
    for path in sorted(directory.glob(f"events-*{CLAIMED}*")):
        try:
            pid = int(path.name.rpartition(CLAIMED)[2])
        except ValueError:
            continue
        if pid == os.getpid() or not _alive(pid):  # a claim this process or a dead one left
            candidates.append(path)
    for path in sorted(candidates, key=lambda p: p.name):
        original = path.name.partition(CLAIMED)[0]
        claimed = path.with_name(f"{original}{CLAIMED}{os.getpid()}")
        try:
            path.rename(claimed)
        except FileNotFoundError:  # another process claimed it first
            continue
        return claimed
    return None


def release(path: Path, remaining: list[bytes]) -> None:
    """Done with a claimed file: removed when all was sent, else rewritten with what is left
    under its original name (so it keeps its place among the older files)."""
    if not remaining:
        path.unlink(missing_ok=True)
        return
    write_lines_atomically(path.with_name(path.name.partition(CLAIMED)[0]), remaining)
    path.unlink(missing_ok=True)


def read_journal(path: Path) -> list[bytes]:
    """The messages of a broker journal segment (analytics/store/journal.py's files), in
    order. A last line without its newline was cut by a ``kill -9`` before it was fsynced
    (its turn was never acknowledged): dropped."""
    lines = path.read_bytes().split(b"\n")
    if lines[-1].strip():
        logger.warning("event broker: dropping the unfinished last line of %s", path)
    return [line for line in lines[:-1] if line.strip()]
