"""``carebot test``: replay a project's test stories as ``rasa test`` does.

Each test story becomes the conversation its steps describe. Before every action of the
story the policies predict the next action from the story so far; every user message with
text goes through the NLU and its intent (and entities) are compared with the story's.
The story always goes on with its own (gold) events, so one miss does not hide the rest.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.dialogue import events as ev
from bot.dialogue.policies.training_data import story_events
from bot.dialogue.project.model import ACTION_LISTEN, RasaProject, Story

ParseText = Callable[[str], Awaitable[dict]]


@dataclass
class TurnCheck:
    kind: str  # "action" | "intent" | "entities"
    expected: str
    predicted: str
    policy_name: str | None = None  # actions: the policy that predicted it
    confidence: float | None = None

    @property
    def ok(self) -> bool:
        return self.expected == self.predicted


@dataclass
class StoryResult:
    story: Story
    checks: list[TurnCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[TurnCheck]:
        return [c for c in self.checks if not c.ok]


@dataclass
class TestReport:
    stories: list[StoryResult]

    @property
    def stories_passed(self) -> int:
        return sum(r.passed for r in self.stories)

    def turns(self, kind: str | None = None) -> tuple[int, int]:
        checks = [c for r in self.stories for c in r.checks if kind is None or c.kind == kind]
        return sum(c.ok for c in checks), len(checks)

    def action_pairs(self) -> list[tuple[str, str]]:
        return [(c.expected, c.predicted) for r in self.stories for c in r.checks
                if c.kind == "action"]

    def summary(self) -> dict:
        ok, total = self.turns()
        action_ok, action_total = self.turns("action")
        intent_ok, intent_total = self.turns("intent")
        entity_ok, entity_total = self.turns("entities")
        return {
            "stories": {"passed": self.stories_passed, "total": len(self.stories)},
            "turns": {"passed": ok, "total": total},
            "actions": {"passed": action_ok, "total": action_total},
            "intents": {"passed": intent_ok, "total": intent_total},
            "entities": {"passed": entity_ok, "total": entity_total},
            "failed_stories": [{"story": r.story.name, "file": str(r.story.source or ""),
                                "failures": [vars(c) for c in r.failures]}
                               for r in self.stories if not r.passed],
        }


def _entity_signature(entities: list[dict], wanted: set[str] | None = None) -> str:
    items = sorted((e.get("entity"), str(e.get("value")), e.get("role") or "",
                    e.get("group") or "") for e in entities
                   if wanted is None or e.get("entity") in wanted)
    return json.dumps(items)


async def replay_story(story: Story, project: RasaProject, predict, parse: ParseText | None,
                       check_entities: bool = True) -> StoryResult:
    result = StoryResult(story)
    domain = project.domain
    gold = story_events(story, domain)
    history: list[dict] = []
    for event in gold:
        kind = event.get("event")
        if kind == "action" and history:
            prediction = predict(history, domain)
            loop = ev.view(history, domain).active_loop_name
            if prediction.action != event["name"] and prediction.action == loop:
                # As rasa test does: the story says something else ran instead of the
                # active form, so the form must have rejected the message; emulate that.
                history.append({"event": "action_execution_rejected", "name": loop})
                prediction = predict(history, domain)
            result.checks.append(TurnCheck("action", event["name"], prediction.action,
                                           prediction.policy_name, prediction.confidence))
        elif kind == "user" and parse is not None and event.get("text") \
                and not str(event["text"]).startswith("/"):
            parsed = await parse(event["text"])
            expected = ev.user_intent(event) or ""
            result.checks.append(TurnCheck("intent", expected,
                                           (parsed.get("intent") or {}).get("name") or ""))
            if check_entities:
                names = {e.get("entity") for e in ev.user_entities(event)} | \
                    {e.get("entity") for e in parsed.get("entities") or []
                     if e.get("entity") in domain.entities}
                expected_entities = _entity_signature(ev.user_entities(event), names)
                found = _entity_signature(parsed.get("entities") or [], names)
                result.checks.append(TurnCheck("entities", expected_entities, found))
        history.append(event)
    return result


async def run_tests(project: RasaProject, predict, parse: ParseText | None,
                    stories: list[Story] | None = None,
                    progress: Callable[[StoryResult], None] | None = None) -> TestReport:
    results = []
    for story in stories if stories is not None else project.test_stories:
        result = await replay_story(story, project, predict, parse)
        results.append(result)
        if progress:
            progress(result)
    return TestReport(results)


def write_results(report: TestReport, out_dir: Path) -> list[Path]:
    """``failed_test_stories.yml``, ``story_report.json`` and an action confusion matrix."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    failed = out_dir / "failed_test_stories.yml"
    failed.write_text(_failed_stories_yaml(report))
    written.append(failed)
    summary = out_dir / "story_report.json"
    summary.write_text(json.dumps(report.summary(), indent=2))
    written.append(summary)
    pairs = report.action_pairs()
    if pairs:
        png = out_dir / "story_confusion_matrix.png"
        _confusion_png(pairs, png)
        written.append(png)
    return written


def _failed_stories_yaml(report: TestReport) -> str:
    lines = ['version: "3.1"', "stories:"]
    failed = [r for r in report.stories if not r.passed]
    if not failed:
        return "# All test stories passed.\n"
    for result in failed:
        lines.append(f"- story: {result.story.name}")
        if result.story.source:
            lines.append(f"  # {result.story.source}")
        lines.append("  steps:")
        for check in result.checks:
            if check.kind == "action":
                if check.expected == ACTION_LISTEN and check.ok:
                    continue
                mark = "" if check.ok else f"  # predicted: {check.predicted}"
                lines.append(f"  - action: {check.expected}{mark}")
            elif check.kind == "intent":
                mark = "" if check.ok else f"  # predicted: {check.predicted}"
                lines.append(f"  - intent: {check.expected}{mark}")
            elif not check.ok:
                lines.append(f"    # entities expected {check.expected}, predicted "
                             f"{check.predicted}")
    return "\n".join(lines) + "\n"


def _confusion_png(pairs: list[tuple[str, str]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = sorted({a for pair in pairs for a in pair})
    index = {label: i for i, label in enumerate(labels)}
    counts = Counter(pairs)
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for (expected, predicted), n in counts.items():
        matrix[index[expected], index[predicted]] = n
    size = max(6, len(labels) * 0.35)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted action")
    ax.set_ylabel("action in the test story")
    ax.set_title("Actions: test stories vs. predictions")
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
