"""A trained Rasa project ready to talk: its files, its policies, its actions, one processor.

``load_assistant`` is what ``carebot serve``, ``carebot shell`` and ``carebot test`` start
from. It never trains: it says which command to run when the models are missing or older
than the project's files.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

from bot.config import EscalationPolicy
from bot.dialogue.actions.custom import ProjectActions
from bot.dialogue.actions.remote import RemoteActions
from bot.dialogue.actions.responses import ResponseRenderer
from bot.dialogue.policies.ensemble import PolicyEnsemble
from bot.dialogue.processor import MessageProcessor
from bot.dialogue.project.loader import load_project
from bot.dialogue.project.model import RasaProject

logger = logging.getLogger(__name__)

DIALOGUE_DIR = "dialogue"  # under the models directory


class ModelsMissing(RuntimeError):
    """The project has not been trained (or not since its stories and rules changed)."""


@dataclass
class Assistant:
    project: RasaProject
    policies: PolicyEnsemble
    processor: MessageProcessor
    actions: ProjectActions | RemoteActions | None

    @property
    def domain(self):
        return self.project.domain

    async def close(self) -> None:
        if self.actions is not None and hasattr(self.actions, "close"):
            await self.actions.close()


def action_runner(project: RasaProject) -> ProjectActions | RemoteActions | None:
    """The project's own actions: its action server when endpoints.yml names one, else its
    ``actions`` package in this process, else none."""
    remote = RemoteActions.from_endpoints(project.endpoints)
    if remote is not None:
        logger.info("custom actions: the action server at %s", remote.url)
        return remote
    if project.actions_package is not None:
        logger.info("custom actions: the project's actions package %s, in this process",
                    project.actions_package)
        return ProjectActions(project.root)
    return None


def load_assistant(project_dir: Path, models_dir: Path, escalation: EscalationPolicy | None = None,
                   *, project: RasaProject | None = None, rng: random.Random | None = None,
                   actions: ProjectActions | RemoteActions | None = None,
                   use_project_actions: bool = True, env: dict | None = None) -> Assistant:
    project = project or load_project(project_dir, env)
    policy_dir = models_dir / DIALOGUE_DIR
    if PolicyEnsemble.saved_fingerprint(policy_dir) is None:
        raise ModelsMissing(f"no trained dialogue policies in {policy_dir}; run `carebot train` "
                            f"in {project_dir}")
    policies = PolicyEnsemble.load(policy_dir)
    if actions is None and use_project_actions:
        actions = action_runner(project)
    renderer = ResponseRenderer(project.domain, rng=rng or random.Random())
    processor = MessageProcessor(project.domain, policies, actions, renderer.render,
                                 renderer.render_dispatched, escalation, rng=rng)
    return Assistant(project, policies, processor, actions)
