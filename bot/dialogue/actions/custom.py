"""Run a project's custom actions in this process, through rasa_sdk's own ActionExecutor, as
its action server would run them (used when endpoints.yml names no ``action_endpoint``)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import rasa_sdk
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from analytics.store import fastjson
from bot.dialogue.actions.base import ActionFailed, ActionNotFound, ActionRejected, ActionResult
from bot.dialogue.actions.package import (
    ActionsPackageError,
    ProjectPackage,
    find_package,
    import_project_package,
)

logger = logging.getLogger(__name__)


class ProjectActions:
    """The custom actions of the project at ``project_root``: its ``actions`` package (a
    folder or ``actions.py``), imported at construction. A project without one has none.

    Raises ActionsPackageError (file, line, what to do) when the package cannot be imported.
    """

    def __init__(self, project_root: Path, package: str = "actions") -> None:
        self.project_root = Path(project_root).resolve()
        self.package_name = package
        self._package: ProjectPackage | None = import_project_package(self.project_root, package)
        self._executor = ActionExecutor()
        self._origins: dict[str, str] = {}  # action name -> "module.Class", for messages
        # Actions written with a plain ``def run`` would block every conversation while they
        # work; they run on one worker thread instead (one, so that they never run
        # concurrently with each other, as under rasa_sdk's server).
        self._sync_worker: ThreadPoolExecutor | None = None
        for cls in self._package.action_classes if self._package else ():
            self._register(cls)

    @property
    def names(self) -> frozenset[str]:
        """The names of every action the package registers."""
        return frozenset(self._executor.actions)

    @property
    def has_package(self) -> bool:
        return self._package is not None

    def _register(self, cls: type) -> None:
        origin = f"{cls.__module__}.{cls.__qualname__}"
        try:
            action = cls()
        except Exception as exc:
            raise ActionsPackageError(
                f"{self._source_of(cls)}: cannot create the action class {origin}: "
                f"{type(exc).__name__}: {exc}; rasa_sdk creates every Action subclass without "
                "arguments, so give its __init__ defaults"
            ) from exc
        try:
            name = action.name()
        except NotImplementedError:
            return  # a base class the project's actions share, not an action itself
        if not isinstance(name, str) or not name:
            logger.debug("skipping %s: name() gives %r, not an action name", origin, name)
            return
        if name in self._origins:
            logger.warning("%s and %s are both called %r; the last one wins, as in rasa_sdk",
                           self._origins[name], origin, name)
        run = action.run
        if not inspect.iscoroutinefunction(run):
            run = self._on_worker_thread(run)
        self._executor.register_function(name, run)
        self._origins[name] = origin

    def _on_worker_thread(self, run: Any) -> Any:
        async def run_on_worker(dispatcher: Any, tracker: Any, domain: Any) -> Any:
            if self._sync_worker is None:
                self._sync_worker = ThreadPoolExecutor(1, thread_name_prefix="custom-action")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._sync_worker, run, dispatcher, tracker, domain)

        return run_on_worker

    async def run(self, action_name: str, tracker: dict, domain: dict) -> ActionResult:
        """Run ``action_name`` on a tracker and domain in Rasa's action-server JSON shape."""
        if action_name not in self._executor.actions:
            raise ActionNotFound(action_name, self._not_found_message(action_name))
        if "sender_id" not in tracker:
            raise ValueError("the tracker passed to a custom action needs a 'sender_id'")
        call = {
            "next_action": action_name,
            "sender_id": tracker["sender_id"],
            # actions may change the tracker they get (FormValidationAction adds slots)
            "tracker": fastjson.copy(tracker),
            "domain": domain,
            "version": rasa_sdk.__version__,
        }
        try:
            result = await self._executor.run(call)
        except ActionExecutionRejection as exc:
            raise ActionRejected(exc.action_name or action_name, exc.message) from exc
        except ActionNotFoundException as exc:
            raise ActionNotFound(action_name, self._not_found_message(action_name)) from exc
        except Exception as exc:
            origin = self._origins.get(action_name, action_name)
            logger.exception("the custom action %r (%s) raised", action_name, origin)
            raise ActionFailed(
                action_name,
                f"The custom action '{action_name}' ({origin}) raised {type(exc).__name__}: "
                f"{exc}; the log has the traceback.",
            ) from exc
        if result is None:  # only when next_action is empty, which the check above rules out
            return ActionResult()
        return ActionResult(events=list(result.events), responses=list(result.responses))

    def _not_found_message(self, action_name: str) -> str:
        where = find_package(self.project_root, self.package_name)
        if where is None:
            return (
                f"No custom action '{action_name}': the project at {self.project_root} has no "
                f"{self.package_name} package. Write the action in "
                f"{self.project_root / self.package_name}/__init__.py (or any module there), or "
                "set action_endpoint in endpoints.yml to an action server that has it."
            )
        known = ", ".join(sorted(self.names)) or "none"
        return (
            f"No custom action '{action_name}' in the project's {self.package_name} package "
            f"({where}); it registers: {known}. Add an Action subclass whose name() returns "
            f"'{action_name}', or remove the action from domain.yml."
        )

    def _source_of(self, cls: type) -> str:
        """``path:line`` of a class of the package (inspect would look in sys.modules, where
        another package called ``actions`` may be)."""
        module = self._package.modules.get(cls.__module__) if self._package else None
        path = getattr(module, "__file__", None) or cls.__module__
        lines = [f.__code__.co_firstlineno for f in vars(cls).values() if hasattr(f, "__code__")]
        return f"{path}:{min(lines)}" if lines else str(path)

    async def close(self) -> None:
        if self._sync_worker is not None:
            self._sync_worker.shutdown(wait=False, cancel_futures=True)
            self._sync_worker = None


