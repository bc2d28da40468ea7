"""The export's own bookkeeping in DIR: which Parquet files make up each date partition, how
many rows they hold, and how far the append-only tables were read (the watermark).

A run writes its files under hidden temporary names, then replaces ``_carebot_export.json``
(the commit), then gives the files their names and deletes the ones they replace.
:func:`settle` does that last step, and on the next run finishes whatever a killed run
left half done, so the folder only ever holds the files the manifest lists.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "_carebot_export.json"
LOCK = "_carebot_export.lock"
FORMAT = 1
PART = re.compile(r"^part-[0-9a-f-]+\.parquet$")
TEMP = re.compile(r"^\.(part-[0-9a-f-]+\.parquet)\.tmp$")


class ExportError(Exception):
    """The export cannot run as asked; the message says what to do."""


@dataclass
class Partition:
    rows: int
    files: list[str]
    digest: str | None = None  # tables whose rows change: what the rows were

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "files": self.files, "digest": self.digest}


@dataclass
class TableState:
    partitions: dict[str, Partition] = field(default_factory=dict)  # "YYYY-MM-DD" -> files
    watermark: tuple[str, str] | None = None  # append-only: (last partition time, key)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions.values())

    def to_dict(self) -> dict[str, Any]:
        return {"watermark": list(self.watermark) if self.watermark else None,
                "partitions": {day: p.to_dict() for day, p in sorted(self.partitions.items())}}


@dataclass
class Manifest:
    database: str
    runs: int = 0
    exported_at: str | None = None
    tables: dict[str, TableState] = field(default_factory=dict)

    def table(self, name: str) -> TableState:
        return self.tables.setdefault(name, TableState())

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "database": self.database, "runs": self.runs,
                "exported_at": self.exported_at,
                "tables": {name: t.to_dict() for name, t in sorted(self.tables.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        tables = {}
        for name, t in data.get("tables", {}).items():
            parts = {day: Partition(int(p["rows"]), list(p["files"]), p.get("digest"))
                     for day, p in t.get("partitions", {}).items()}
            mark = t.get("watermark")
            tables[name] = TableState(parts, (str(mark[0]), str(mark[1])) if mark else None)
        return cls(database=data["database"], runs=int(data.get("runs", 0)),
                   exported_at=data.get("exported_at"), tables=tables)


def partition_dir(directory: Path, table: str, day: str) -> Path:
    return directory / table / f"date={day}"


def temp_name(name: str) -> str:
    return f".{name}.tmp"


def prepare_directory(directory: Path) -> None:
    """Create DIR if needed and make sure files can be written in it."""
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} is a file, not a directory; give a directory to "
                          "export into.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".carebot-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ExportError(f"Cannot write to {directory}: {reason}. Choose a directory you can "
                          "write to, or fix its permissions.") from exc


@contextmanager
def export_lock(directory: Path) -> Iterator[None]:
    """Hold DIR's lock for the run: two exports into one folder would mix their files."""
    with open(directory / LOCK, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise ExportError(f"Another export is writing to {directory}; wait for it "
                                  "to finish.") from None
            raise
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load(directory: Path, database: str, *, full: bool) -> Manifest:
    """The manifest of the last export into DIR (a fresh one when there is none, or with
    ``full``). ExportError when DIR holds another database's export."""
    path = directory / MANIFEST
    if not path.exists():
        return Manifest(database=database)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, not {FORMAT}")
        manifest = Manifest.from_dict(data)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        if full:
            return Manifest(database=database)
        raise ExportError(f"{path} cannot be read ({exc}); run again with --full to write "
                          "the whole export anew.") from exc
    if full:
        return Manifest(database=database, runs=manifest.runs)
    if manifest.database != database:
        raise ExportError(f"{directory} holds an export of {manifest.database}, not of "
                          f"{database}; export into another directory, or run with --full "
                          "to replace it.")
    return manifest


def save(directory: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (the commit of a run's files)."""
    path = directory / MANIFEST
    temp = directory / temp_name(MANIFEST)
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(manifest.to_dict(), handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    _fsync_dir(directory)


def settle(directory: Path, manifest: Manifest, table_names: list[str]) -> list[str]:
    """Make the folders hold exactly the files the manifest lists: committed temporary files
    get their names, files no partition lists are deleted. Returns the partitions whose
    files are missing (dropped from the manifest, so the run rewrites them)."""
    missing = []
    for name in table_names:
        state = manifest.table(name)
        listed = {(day, f) for day, p in state.partitions.items() for f in p.files}
        root = directory / name
        for folder in sorted(root.glob("date=*")) if root.is_dir() else []:
            day = folder.name.removeprefix("date=")
            for path in sorted(folder.iterdir()):
                temp = TEMP.match(path.name)
                if temp and (day, temp.group(1)) in listed:
                    os.replace(path, folder / temp.group(1))
                elif temp or (PART.match(path.name) and (day, path.name) not in listed):
                    path.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
        for day, part in list(state.partitions.items()):
            if not all((partition_dir(directory, name, day) / f).exists() for f in part.files):
                del state.partitions[day]
                missing.append(f"{name}/date={day}")
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
    return missing


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
