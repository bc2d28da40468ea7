"""The conversation log's local journal: every record the log accepts is appended to a file
here, and ``sync()`` makes everything appended so far survive ``kill -9`` and power loss
(fsync). A segment is deleted once the database has every record in it; the segments of a
process that died are replayed by the next one to start.

Each process owns its segments through a lock file (``flock``) that it holds while it runs,
so several server processes may share one directory: a starting process takes over only the
segments whose owner is gone (the kernel drops a dead process's locks).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from analytics.store.record_files import read_records
from analytics.store.records import Record

logger = logging.getLogger(__name__)

LOCK_GLOB = "journal-*.lock"
SEGMENT_BYTES = 8 * 1024 * 1024  # a segment this big is closed and a new one started


@dataclass
class _Segment:
    path: Path
    file: IO[str] | None  # open while it is the current segment or not yet fsynced
    last_seq: int = 0  # the sequence number of its last record
    size: int = 0
    synced: bool = False


@dataclass
class _Orphan:
    """A dead process's journal this process replays: held locked until it is written."""

    lock_path: Path
    lock_fd: int
    segments: list[Path] = field(default_factory=list)
    last_seq: int = 0


class Journal:
    """Append-only, fsynced record files in ``directory``, one owner per set of segments."""

    def __init__(self, directory: Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = Path(directory)
        self._segment_bytes = segment_bytes
        self._owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._lock = threading.Lock()  # the segment list and the current file
        self._sync_lock = threading.Lock()  # one fsync at a time; waiters share its result
        self._segments: list[_Segment] = []
        self._orphans: list[_Orphan] = []
        self._number = 0
        self._appended = 0  # sequence number of the last record appended
        self._synced = 0  # ... and of the last one known to be on disk
        self._lock_fd: int | None = None
        self._directory_synced = False

    # -- start-up ------------------------------------------------------------------------

    def open(self, first_seq: int,
             read: Callable[[Path], list[Any]] = read_records) -> list[Record]:
        """Take this process's lock and adopt the segments of dead processes.

        Returns their records (``read`` from each segment: conversation records unless told
        otherwise), oldest first; they are numbered from ``first_seq`` on, and their files are
        deleted once ``written_up_to`` passes them.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        # Locked before it is visible under its final name, so no other process starting at
        # the same moment can mistake it for a dead process's lock.
        tmp = self.directory / f".journal-{self._owner}.lock.tmp"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(tmp, self.directory / f"journal-{self._owner}.lock")
        self._lock_fd = fd
        records: list[Record] = []
        seq = first_seq
        for lock_path in sorted(self.directory.glob(LOCK_GLOB), key=_mtime):
            owner = lock_path.name[len("journal-"):-len(".lock")]
            if owner == self._owner:
                continue
            orphan = self._adopt(lock_path, owner)
            if orphan is None:
                continue
            for path in orphan.segments:
                for record in read(path):
                    records.append(record)
                    seq += 1
            orphan.last_seq = seq
            self._orphans.append(orphan)
        if records:
            logger.warning("Replaying %d records from the journal of a server process that "
                           "stopped without closing (%s)", len(records), self.directory)
        self._appended = self._synced = seq
        return records

    def _adopt(self, lock_path: Path, owner: str) -> _Orphan | None:
        try:
            fd = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:  # its owner closed cleanly a moment ago
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live process owns it
            os.close(fd)
            return None
        if not lock_path.exists():  # closed cleanly between our open and our lock
            os.close(fd)
            return None
        segments = sorted(self.directory.glob(f"journal-{owner}-*.jsonl"), key=_segment_number)
        return _Orphan(lock_path, fd, segments)

    # -- appending -----------------------------------------------------------------------

    def append(self, line: str, seq: int) -> None:
        """Append one JSON line (no newline) for the record numbered ``seq``; not yet fsynced."""
        with self._lock:
            segment = self._segments[-1] if self._segments else None
            if segment is None or segment.size >= self._segment_bytes:
                segment = self._new_segment()
            data = line + "\n"
            assert segment.file is not None
            segment.file.write(data)
            segment.size += len(data)
            segment.last_seq = seq
            segment.synced = False
            self._appended = seq

    def flush(self) -> None:
        """Hand what was appended to the OS (it then survives kill -9, not a power cut)."""
        with self._lock:
            if self._segments and self._segments[-1].file is not None:
                self._segments[-1].file.flush()

    def _new_segment(self) -> _Segment:
        self._number += 1
        path = self.directory / f"journal-{self._owner}-{self._number:06d}.jsonl"
        segment = _Segment(path, path.open("a", encoding="utf-8"))
        self._segments.append(segment)
        self._directory_synced = False
        return segment

    def sync(self) -> None:
        """Return once every record appended before this call is on disk.

        Calls from many threads at once share fsyncs (group commit): one thread syncs what
        all of them appended while the others wait for it.
        """
        with self._sync_lock:
            with self._lock:
                target = self._appended
                if self._synced >= target:
                    return
                pending = [s for s in self._segments if not s.synced and s.file is not None]
                descriptors = []
                for segment in pending:
                    segment.file.flush()  # type: ignore[union-attr]
                    # a copy: written_up_to may close the segment while we fsync it
                    descriptors.append(os.dup(segment.file.fileno()))  # type: ignore[union-attr]
                sync_directory = not self._directory_synced
            try:
                for fd in descriptors:
                    os.fsync(fd)
            finally:
                for fd in descriptors:
                    os.close(fd)
            if sync_directory:
                # a new file's name must survive a power cut too, not only its contents
                _fsync_directory(self.directory)
            with self._lock:
                self._synced = max(self._synced, target)
                self._directory_synced = self._directory_synced or sync_directory
                for segment in pending:
                    segment.synced = segment.last_seq <= target

    # -- forgetting what the database has ------------------------------------------------

    def written_up_to(self, seq: int) -> None:
        """Every record numbered ``seq`` or lower is in the database: drop the files of
        those (the current segment once it is full)."""
        finished: list[Path] = []
        with self._lock:
            keep = []
            for i, segment in enumerate(self._segments):
                current = i == len(self._segments) - 1
                full = segment.size >= self._segment_bytes
                if segment.last_seq <= seq and (not current or full):
                    if segment.file is not None:
                        segment.file.close()
                    finished.append(segment.path)
                else:
                    keep.append(segment)
            self._segments = keep
            done = [o for o in self._orphans if o.last_seq <= seq]
            self._orphans = [o for o in self._orphans if o.last_seq > seq]
        for path in finished:
            path.unlink(missing_ok=True)
        for orphan in done:
            for path in orphan.segments:
                path.unlink(missing_ok=True)
            self._release_orphan(orphan)

    def close(self, *, keep: bool) -> None:
        """Close the files; delete them unless ``keep`` (records still unwritten and not
        spooled elsewhere), in which case the next process to start replays them."""
        with self._lock:
            paths = []
            for segment in self._segments:
                if segment.file is not None:
                    with contextlib.suppress(OSError):
                        segment.file.flush()
                        os.fsync(segment.file.fileno())
                    segment.file.close()
                paths.append(segment.path)
            self._segments = []
            orphans, self._orphans = self._orphans, []
            if not keep:
                for path in paths:
                    path.unlink(missing_ok=True)
                for orphan in orphans:
                    for path in orphan.segments:
                        path.unlink(missing_ok=True)
            for orphan in orphans:
                if keep:
                    os.close(orphan.lock_fd)  # still to be replayed: leave it for the next
                else:
                    self._release_orphan(orphan)
            if self._lock_fd is not None:
                if not keep:
                    (self.directory / f"journal-{self._owner}.lock").unlink(missing_ok=True)
                os.close(self._lock_fd)
                self._lock_fd = None

    @staticmethod
    def _release_orphan(orphan: _Orphan) -> None:
        # After its segments are gone, and unlinked while still locked, so nobody adopts it
        # half deleted.
        orphan.lock_path.unlink(missing_ok=True)
        os.close(orphan.lock_fd)


def _segment_number(path: Path) -> int:
    try:
        return int(path.stem.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
