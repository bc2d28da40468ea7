"""Import a Rasa project's own ``actions`` package, as ``rasa run actions`` does in the project
folder, even though Carebot's demo shop ships a top-level package of the same name.

The project's modules import each other as ``from actions.parsing import ...``, so they must be
imported under the name ``actions``: the project root goes first on ``sys.path`` and any
``actions``/``actions.*`` already in ``sys.modules`` is set aside while they import. Afterwards
``sys.path`` is restored; ``sys.modules`` gets back what was set aside, and when nothing was
(the usual case in ``carebot serve``) the project's modules stay there, so an action that
imports one of its own modules lazily, inside ``run``, still finds it.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from rasa_sdk.interfaces import Action
from rasa_sdk.utils import all_subclasses

logger = logging.getLogger(__name__)

# rasa_sdk skips the Action classes of these packages when it registers a package.
_LIBRARY_PREFIXES = ("rasa_core.", "rasa.", "rasa_sdk.", "rasa_core_sdk.")


class ActionsPackageError(Exception):
    """The project's actions package cannot be imported or one of its actions cannot be
    created; the message names the file and line and says what to do."""


@dataclass(frozen=True)
class ProjectPackage:
    """A project's imported actions package: its modules and the Action classes they define."""

    name: str
    location: Path  # <root>/actions (a folder) or <root>/actions.py
    modules: dict[str, ModuleType]
    action_classes: list[type[Action]]


def find_package(project_root: Path, name: str = "actions") -> Path | None:
    """``<root>/<name>/`` (with or without ``__init__.py``) or ``<root>/<name>.py``, if any."""
    folder = project_root / name
    if folder.is_dir():
        return folder
    module = project_root / f"{name}.py"
    return module if module.is_file() else None


def import_project_package(project_root: Path, name: str = "actions") -> ProjectPackage | None:
    """Import ``name`` and all its submodules from ``project_root``; None when the project has
    no such package (a project without custom actions)."""
    root = Path(project_root).resolve()
    location = find_package(root, name)
    if location is None:
        return None
    set_aside = _pop_modules(name)
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()  # the folder may have been written a moment ago
    known = set(all_subclasses(Action))
    try:
        _import_tree(name)
        _check_origin(sys.modules[name], location)
    except (Exception, SystemExit) as exc:
        _pop_modules(name)
        sys.modules.update(set_aside)
        raise ActionsPackageError(_describe_import_error(exc, root, name)) from exc
    finally:
        _remove_first(sys.path, str(root))
    modules = {key: module for key, module in sys.modules.items() if _is_in(key, name)}
    if set_aside:
        _pop_modules(name)
        sys.modules.update(set_aside)
    classes = [cls for cls in all_subclasses(Action) if cls not in known and _is_user_action(cls)]
    # all_subclasses may list a class once per base it reaches it through
    classes = list(dict.fromkeys(classes))
    logger.info("imported %s from %s: %d action classes", name, location, len(classes))
    return ProjectPackage(name=name, location=location, modules=modules, action_classes=classes)


def _is_in(module_name: str, package: str) -> bool:
    return module_name == package or module_name.startswith(package + ".")


def _pop_modules(package: str) -> dict[str, ModuleType]:
    return {key: sys.modules.pop(key) for key in list(sys.modules) if _is_in(key, package)}


def _remove_first(items: list[str], value: str) -> None:
    if value in items:
        items.remove(value)


def _import_tree(name: str) -> None:
    """Import a module, or a package and every submodule below it, as rasa_sdk does."""
    module = importlib.import_module(name)
    for _finder, child, is_package in pkgutil.iter_modules(
        getattr(module, "__path__", None) or [], prefix=f"{name}."
    ):
        if is_package:
            _import_tree(child)
        else:
            importlib.import_module(child)


def _check_origin(module: ModuleType, location: Path) -> None:
    where = [getattr(module, "__file__", None), *list(getattr(module, "__path__", None) or [])]
    paths = [Path(p).resolve() for p in where if p]
    if not any(p == location or location in p.parents for p in paths):
        raise ImportError(f"'{module.__name__}' was imported from {paths[0] if paths else '?'}, "
                          f"not from {location}")


def _is_user_action(cls: type) -> bool:
    return not cls.__module__.startswith(_LIBRARY_PREFIXES) and not inspect.isabstract(cls)


def _describe_import_error(exc: BaseException, root: Path, name: str) -> str:
    """``actions/actions.py:12: ModuleNotFoundError: No module named 'pytz'; <what to do>``."""
    where = _project_frame(exc, root) or str(find_package(root, name) or root)
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{_relative(Path(exc.filename), root)}:{exc.lineno}"
        what = f"SyntaxError: {exc.msg}"
    if isinstance(exc, ModuleNotFoundError) and exc.name and not _is_in(exc.name, name):
        hint = (f"install the packages the project's actions need into Carebot's environment "
                f"(e.g. pip install {exc.name.split('.')[0]}, or pip install -r "
                f"{name}/requirements*.txt if the project has one)")
    else:
        hint = (f"fix the project's {name} package; `carebot run actions --project {root}` "
                "shows the full traceback")
    return f"{where}: cannot import the project's {name} package: {what}; {hint}"


def _project_frame(exc: BaseException, root: Path) -> str | None:
    """The innermost traceback frame inside the project, as ``path:line``."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_absolute() and root in path.resolve().parents:
            found = f"{_relative(path, root)}:{frame.lineno}"
    return found


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
