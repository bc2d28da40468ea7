"""Problems between a project's files: names used in one place and defined nowhere.

Each problem is one line, ``path:line: what is wrong; what to do``. Errors stop
``load_project`` (and training); ``carebot data validate`` lists them all, with warnings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from bot.dialogue.project.domain_merge import MergedDomain
from bot.dialogue.project.model import (
    ActionStep,
    ActiveLoopStep,
    Domain,
    SlotStep,
    SourceRef,
    Step,
    UserStep,
)
from bot.dialogue.project.stories_reader import Block, Checkpoint, OrStep


@dataclass(frozen=True)
class Issue:
    level: Literal["error", "warning"]
    source: SourceRef | None
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


def block_steps(block: Block) -> Iterator[Step]:
    """Every step of a block as written: conditions, steps, and each ``or`` alternative."""
    yield from block.condition
    for step in block.steps:
        if isinstance(step, OrStep):
            yield from step.alternatives
        elif not isinstance(step, Checkpoint):
            yield step


def reference_issues(domain: Domain, blocks: list[Block], merged: MergedDomain) -> list[Issue]:
    issues: list[Issue] = []
    actions = set(domain.action_names)
    for block in blocks:
        what = f"{'test story' if block.kind == 'test' else block.kind} '{block.name}'"
        for step in block_steps(block):
            issues.extend(_step_issues(domain, actions, what, step))
    issues.extend(_domain_issues(domain, merged, actions))
    return issues


def _step_issues(domain: Domain, actions: set[str], what: str, step: Step) -> list[Issue]:
    found = []
    if isinstance(step, ActionStep) and step.name not in actions:
        where = (f"add a response '{step.name}' under responses:" if step.name.startswith("utter_")
                 else f"list '{step.name}' under actions:")
        found.append(Issue("error", step.source, f"{what} uses action '{step.name}', which is "
                                                 f"not in the domain; {where} in domain.yml"))
    elif isinstance(step, UserStep) and step.intent is not None:
        base = step.intent.split("/", 1)[0]
        if base not in domain.intents:
            found.append(Issue("error", step.source,
                               f"{what} uses intent '{step.intent}', which is not in the "
                               "domain; add it under intents: in domain.yml"))
    elif isinstance(step, SlotStep):
        for name, _ in step.slots:
            if name not in domain.slots:
                found.append(Issue("error", step.source,
                                   f"{what} sets slot '{name}', which is not in the domain; "
                                   "add it under slots: in domain.yml (with its type)"))
    elif isinstance(step, ActiveLoopStep) and step.name is not None:
        if step.name not in domain.forms and step.name not in actions:
            found.append(Issue("error", step.source,
                               f"{what} uses active_loop '{step.name}', which is not a form of "
                               "the domain; add it under forms: in domain.yml"))
    return found


def _domain_issues(domain: Domain, merged: MergedDomain, actions: set[str]) -> list[Issue]:
    issues: list[Issue] = []
    form_entries = merged.sections["forms"]
    for name, form in domain.forms.items():
        entry = form_entries.get(name)
        for k, slot in enumerate(form.required_slots):
            if slot not in domain.slots:
                source = SourceRef(entry.doc.path, entry.line("required_slots", k)) \
                    if entry else domain.source("form", name)
                issues.append(Issue("error", source,
                                    f"form '{name}' requires slot '{slot}', which is not in "
                                    "the domain; add it under slots: in domain.yml"))
    slot_entries = merged.sections["slots"]
    for name, slot in domain.slots.items():
        source = slot_entries[name].source if name in slot_entries else None
        for mapping in slot.mappings:
            if mapping.type == "custom" and mapping.action and mapping.action not in actions:
                issues.append(Issue("error", source,
                                    f"slot '{name}' is filled by custom action "
                                    f"'{mapping.action}', which is not in the domain; list it "
                                    "under actions: in domain.yml"))
            for condition in mapping.conditions:
                if condition.active_loop and condition.active_loop not in domain.forms:
                    issues.append(Issue("error", source,
                                        f"a mapping of slot '{name}' has condition active_loop "
                                        f"'{condition.active_loop}', which is not a form; add "
                                        "it under forms: or fix the name"))
                if condition.requested_slot and condition.requested_slot not in domain.slots:
                    issues.append(Issue("error", source,
                                        f"a mapping of slot '{name}' has condition "
                                        f"requested_slot '{condition.requested_slot}', which is "
                                        "not a slot; fix the name"))
    for name, variations in domain.responses.items():
        for variation in variations:
            for condition in variation.condition:
                if condition.name not in domain.slots:
                    issues.append(Issue("error", domain.source("response", name),
                                        f"response '{name}' has a condition on slot "
                                        f"'{condition.name}', which is not in the domain; add "
                                        "it under slots: or fix the name"))
    return issues
