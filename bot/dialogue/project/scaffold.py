"""``carebot init``: write a new Rasa project from one of the templates in bot/templates/.

``minimal`` is a small moodbot-like project (as ``rasa init`` makes); ``demo-shop`` is the
Carebot Demo Shop. In a source checkout every file of the demo-shop template is a link to
the repository's own demo-shop project, so the two never drift; an installed
package carries real copies of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
TEMPLATES = ("minimal", "demo-shop")
# Entries that do not make a folder "not empty": version control, and Carebot's own
# per-folder state (the CLI may create .carebot/ before the command runs).
IGNORED_ENTRIES = (".git", ".carebot", ".DS_Store")
_CACHE_DIRS = ("__pycache__", ".pytest_cache", ".ruff_cache")
_SKIP = shutil.ignore_patterns(*_CACHE_DIRS, "*.pyc")


class ScaffoldError(ValueError):
    """The project cannot be written where asked; the message says what to do."""


def template_dir(template: str) -> Path:
    if template not in TEMPLATES:
        raise ScaffoldError(f"unknown template '{template}'; use one of {', '.join(TEMPLATES)}")
    return TEMPLATES_DIR / template


def scaffold(target: Path, template: str = "minimal", force: bool = False) -> list[Path]:
    """Copy ``template`` into ``target``; the files written, relative to ``target``.

    A folder that already holds files is refused unless ``force`` (then files of the same
    name are overwritten and other files are left alone).
    """
    source = template_dir(template)
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target}: is a file, not a folder; give a folder for the project")
    existing = [p.name for p in target.iterdir() if p.name not in IGNORED_ENTRIES] \
        if target.is_dir() else []
    if existing and not force:
        shown = ", ".join(sorted(existing)[:5]) + (" ..." if len(existing) > 5 else "")
        raise ScaffoldError(f"{target}: the folder is not empty ({shown}); choose an empty "
                            "folder, or add --force to write the project into it anyway")
    target.mkdir(parents=True, exist_ok=True)
    # follow links (the demo shop's files), and leave out caches
    shutil.copytree(source, target, symlinks=False, ignore=_SKIP, dirs_exist_ok=True)
    written = []
    for folder, dirs, files in os.walk(source, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _CACHE_DIRS)
        for name in sorted(files):
            if not name.endswith(".pyc"):
                written.append((Path(folder) / name).relative_to(source))
    return written
