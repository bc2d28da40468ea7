"""A Rasa project (config.yml, domain, data/**, tests/, endpoints.yml, credentials.yml) read
into the dataclasses of :mod:`bot.dialogue.project.model`."""

from bot.dialogue.project.loader import load_project, load_project_with_issues

__all__ = ["load_project", "load_project_with_issues"]
