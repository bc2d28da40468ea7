"""``carebot train``: what one Rasa project needs, trained into its models directory.

The NLU (from config.yml's pipeline and the project's NLU files) and the dialogue policies
(from config.yml's policies, stories and rules). The base models every project shares are
built once per install, the first time they are missing. Policies are skipped when nothing
they learn from changed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.dialogue.assistant import DIALOGUE_DIR
from bot.dialogue.policies.ensemble import PolicyEnsemble
from bot.dialogue.project.model import RasaProject

logger = logging.getLogger(__name__)


@dataclass
class TrainSummary:
    models_dir: Path
    seconds: dict[str, float] = field(default_factory=dict)  # step -> seconds
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def pipeline_dicts(project: RasaProject) -> list[dict]:
    return [{"name": c.name, **c.options, "__source__": str(c.source or "config.yml")}
            for c in project.config.pipeline]


def train_project(project: RasaProject, models_dir: Path, base_models_dir: Path, *,
                  progress: bool = True, force: bool = False,
                  finetune: bool = False) -> TrainSummary:
    from nlp.train import train_project as train_nlu

    summary = TrainSummary(models_dir)
    started = time.perf_counter()
    report = train_nlu(project.nlu_files, pipeline_dicts(project), models_dir, base_models_dir,
                       progress=progress, finetune=finetune)
    summary.seconds["nlu"] = time.perf_counter() - started
    summary.notes += list(getattr(report, "notes", []) or [])
    if report.finetune:
        summary.notes.append(f"fine-tuned the intent encoder in {report.timings['finetune']:.1f}"
                             f" s -> {models_dir / report.finetune['graph']}")
    base_steps = {k: v for k, v in (report.timings or {}).items() if k.startswith("base_")}
    if base_steps:
        summary.notes.append(f"built the base models once for this install in "
                             f"{sum(base_steps.values()):.1f} s ({base_models_dir})")

    policy_dir = models_dir / DIALOGUE_DIR
    stories = project.stories
    fingerprint = PolicyEnsemble.fingerprint_for(stories, project.domain, project.config.policies)
    started = time.perf_counter()
    if not force and PolicyEnsemble.saved_fingerprint(policy_dir) == fingerprint:
        summary.notes.append("dialogue policies unchanged since the last training: kept")
    else:
        ensemble = PolicyEnsemble.train(stories, project.domain, project.config.policies)
        ensemble.save(policy_dir)
        summary.notes += ensemble.warnings
    summary.seconds["dialogue"] = time.perf_counter() - started
    logger.info("trained %s in %.1f s -> %s", project.root, summary.total, models_dir)
    return summary
