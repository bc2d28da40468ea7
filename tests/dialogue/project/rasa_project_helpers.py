"""Small helpers for tests that edit a copied Rasa project."""

from __future__ import annotations

from pathlib import Path


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    """Edit a copied project file; fails when ``old`` is not there (the edit would be a no-op)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def line_of(path: Path, fragment: str) -> int:
    """1-based number of the first line of ``path`` containing ``fragment`` (comments skipped)."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if fragment in line and not line.lstrip().startswith("#"):
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


def lines_of(path: Path, fragment: str) -> list[int]:
    """Every line of ``path`` containing ``fragment`` (comments skipped), 1-based."""
    return [number for number, line in enumerate(path.read_text().splitlines(), start=1)
            if fragment in line and not line.lstrip().startswith("#")]
