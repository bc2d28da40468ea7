"""``load_project(root)``: read a Rasa 3.x (or 2.x-shaped) project directory unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.dialogue.project.config_reader import read_config
from bot.dialogue.project.data_files import find_data
from bot.dialogue.project.domain_build import build_domain
from bot.dialogue.project.domain_merge import read_domain
from bot.dialogue.project.endpoints_reader import read_credentials, read_endpoints
from bot.dialogue.project.issues import Issue, reference_issues
from bot.dialogue.project.model import RasaProject
from bot.dialogue.project.nlu_scan import NluSummary, scan_nlu
from bot.dialogue.project.stories_reader import Block, read_blocks
from bot.dialogue.project.story_expansion import expand_blocks
from nlp.yamlfile import BotFileError


def load_project(root: Path, env: Mapping[str, str] | None = None) -> RasaProject:
    """Read ``root``; the first error is a BotFileError "path:line: what; what to do".
    ``env`` fills ``${NAME}`` in config.yml, endpoints.yml and credentials.yml."""
    project, issues, _ = load_project_with_issues(root, env)
    errors = [issue for issue in issues if issue.level == "error"]
    if errors:
        more = (f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''}: run "
                "`carebot data validate` to see them all)") if len(errors) > 1 else ""
        raise BotFileError(f"{errors[0]}{more}")
    return project


def load_project_with_issues(root: Path, env: Mapping[str, str] | None = None
                             ) -> tuple[RasaProject, list[Issue], NluSummary]:
    """The project, every reference problem in it (a story naming an unknown action, a form
    requiring a missing slot...), and what its NLU data names. Malformed files still raise
    BotFileError at once: nothing else can be read sensibly after them."""
    root = Path(root)
    if not root.is_dir():
        raise BotFileError(f"{root}: no such folder; give the folder of a Rasa project "
                           "(with domain.yml, config.yml and data/)")
    warnings: list[str] = []
    config = read_config(root, env)
    merged = read_domain(root)
    warnings.extend(merged.warnings)
    data = find_data(root, warnings)
    nlu = scan_nlu(data.nlu_docs)
    domain = build_domain(merged, nlu.retrieval_intents, data.responses, warnings)
    story_blocks: list[Block] = []
    for doc in data.story_docs:
        story_blocks.extend(read_blocks(doc, test=False, warnings=warnings))
    test_blocks: list[Block] = []
    for doc in data.test_docs:
        test_blocks.extend(read_blocks(doc, test=True, warnings=warnings))
    stories = expand_blocks(story_blocks, warnings)
    test_stories = expand_blocks(test_blocks, warnings)
    endpoints = read_endpoints(root, warnings, env)
    credentials = read_credentials(root, warnings, env)
    actions = next((p for p in (root / "actions", root / "actions.py") if p.exists()), None)
    project = RasaProject(
        root=root, config=config, domain=domain,
        nlu_files=[doc.path for doc in data.nlu_docs],
        stories=stories, test_stories=test_stories,
        endpoints=endpoints, credentials=credentials, actions_package=actions,
        warnings=warnings, domain_files=list(merged.files),
        story_files=[doc.path for doc in data.story_docs],
        test_files=[doc.path for doc in data.test_docs],
    )
    issues = reference_issues(domain, [*story_blocks, *test_blocks], merged)
    return project, issues, nlu
