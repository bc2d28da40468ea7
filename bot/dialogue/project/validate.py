"""``carebot data validate``: the checks of ``rasa data validate``, one line per problem.

Errors: names used in data but defined nowhere (intents, actions, responses, slots, forms,
entities), and story structure conflicts. Warnings: things defined but never used (intents
without examples or stories, responses no story, rule, form or action utters), examples
labelled with two intents, and what the loader noticed (unsupported channels, duplicates).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.dialogue.project.conflicts import find_conflicts
from bot.dialogue.project.issues import Issue, block_steps
from bot.dialogue.project.loader import load_project_with_issues
from bot.dialogue.project.model import DEFAULT_INTENTS, ActionStep, RasaProject, UserStep
from bot.dialogue.project.nlu_scan import NluSummary

# Responses Rasa's built-in actions utter when the project defines them, and those Carebot's
# own (handoff, fallback offer; sentiment escalation hands over without any rule) utter.
BUILTIN_RESPONSES = ("utter_default", "utter_ask_rephrase", "utter_restart", "utter_back",
                     "utter_ask_affirmation", "utter_handoff", "utter_offer_handoff",
                     "utter_action_failed")
BUILTIN_RESPONSE_PREFIXES = ("utter_handoff_",)  # utter_handoff_<reason>, e.g. _complaint


@dataclass
class ValidationReport:
    project: RasaProject
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]


def validate_project(root: Path, max_history: int | None = None,
                     env: Mapping[str, str] | None = None) -> ValidationReport:
    """Every problem in the project at ``root``. Malformed files raise BotFileError."""
    project, issues, nlu = load_project_with_issues(root, env)
    report = ValidationReport(project, list(issues))
    report.issues.extend(Issue("warning", None, w) for w in project.warnings)
    report.issues.extend(Issue("error", None, p) for p in nlu.problems)
    report.issues.extend(_intent_issues(project, nlu))
    report.issues.extend(_entity_issues(project, nlu))
    report.issues.extend(_response_issues(project))
    report.issues.extend(_duplicate_examples(nlu))
    history = max_history or project.config.max_history(default=5)
    report.issues.extend(find_conflicts(project.domain, project.stories, history))
    return report


def _stories_and_rules_steps(project: RasaProject):
    for story in project.stories:
        yield from story.condition
        yield from story.steps


def _intent_issues(project: RasaProject, nlu: NluSummary) -> list[Issue]:
    domain = project.domain
    issues = []
    for intent, source in nlu.intent_sources.items():
        if intent.split("/", 1)[0] not in domain.intents:
            issues.append(Issue("error", source, f"intent '{intent}' has NLU examples but is not "
                                                 "in the domain; add it under intents: in "
                                                 "domain.yml"))
    with_examples = {name.split("/", 1)[0] for name, count in nlu.intents.items() if count}
    in_stories = {s.intent.split("/", 1)[0] for s in _stories_and_rules_steps(project)
                  if isinstance(s, UserStep) and s.intent}
    for intent in domain.intents:
        if intent in DEFAULT_INTENTS:
            continue
        source = domain.source("intent", intent)
        if intent not in with_examples:
            issues.append(Issue("warning", source, f"intent '{intent}' has no NLU examples; add "
                                                   "some in data/nlu.yml, or remove the intent"))
        if intent not in in_stories:
            issues.append(Issue("warning", source, f"intent '{intent}' is not used in any story "
                                                   "or rule"))
    for name, slot in domain.slots.items():
        for mapping in slot.mappings:
            for intent in (*mapping.intent, *mapping.not_intent):
                if intent not in domain.intents:
                    issues.append(Issue("warning", domain.source("slot", name),
                                        f"a {mapping.type} mapping of slot '{name}' names "
                                        f"'{intent}', which is not an intent of the domain"))
    return issues


def _entity_issues(project: RasaProject, nlu: NluSummary) -> list[Issue]:
    domain = project.domain
    issues = []
    for entity, source in nlu.entities.items():
        if entity not in domain.entities:
            issues.append(Issue("error", source, f"entity '{entity}' is annotated in the NLU "
                                                 "data but not in the domain; add it under "
                                                 "entities: in domain.yml"))
    reported: set[str] = set()
    for story in [*project.stories, *project.test_stories]:
        for step in story.steps:
            if not isinstance(step, UserStep):
                continue
            for entity in step.entities:
                name = entity["entity"]
                if name not in domain.entities and name not in reported:
                    reported.add(name)
                    issues.append(Issue("error", step.source,
                                        f"{story.kind} '{story.name}' uses entity '{name}', "
                                        "which is not in the domain; add it under entities: "
                                        "in domain.yml"))
    for name, slot in domain.slots.items():
        for mapping in slot.mappings:
            if mapping.type == "from_entity" and mapping.entity not in domain.entities:
                issues.append(Issue("warning", domain.source("slot", name),
                                    f"slot '{name}' is mapped from entity '{mapping.entity}', "
                                    "which is not in the domain, so that mapping never fills "
                                    "it; add the entity under entities:"))
    return issues


def _response_issues(project: RasaProject) -> list[Issue]:
    domain = project.domain
    used = {s.name for s in _stories_and_rules_steps(project) if isinstance(s, ActionStep)}
    for form in domain.forms.values():
        for slot in form.required_slots:
            used.update({f"utter_ask_{slot}", f"utter_ask_{form.name}_{slot}"})
    used.update(BUILTIN_RESPONSES)
    code = _actions_source(project)
    issues = []
    for name in domain.responses:
        base = name.split("/", 1)[0]
        if base in used or name in used or name.startswith(BUILTIN_RESPONSE_PREFIXES):
            continue
        if code and re.search(rf"['\"]{re.escape(name)}['\"]", code):
            continue  # uttered by a custom action (dispatcher.utter_message(response=...))
        issues.append(Issue("warning", domain.source("response", name),
                            f"response '{name}' is not used in any story, rule, form or "
                            "custom action"))
    return issues


def _actions_source(project: RasaProject) -> str:
    path = project.actions_package
    if path is None:
        return ""
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    return "\n".join(f.read_text(encoding="utf-8", errors="replace") for f in files)


def _duplicate_examples(nlu: NluSummary) -> list[Issue]:
    by_text: dict[str, dict[str, object]] = {}
    for text, intent, source in nlu.examples:
        by_text.setdefault(text, {}).setdefault(intent, source)
    issues = []
    for text, intents in by_text.items():
        if len(intents) > 1:
            sources = list(intents.values())
            issues.append(Issue("warning", sources[1],
                                f"example '{text}' is labelled with intents "
                                f"{', '.join(sorted(intents))} (also at {sources[0]}); keep it "
                                "under one intent"))
    return issues


__all__ = ["ValidationReport", "block_steps", "validate_project"]
