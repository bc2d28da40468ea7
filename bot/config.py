"""Server configuration, read from the environment (CAREBOT_*) with overrides from the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _default_db_url(project_dir: Path) -> str:
    return f"sqlite:///{(project_dir / 'carebot.db').resolve()}"


@dataclass(frozen=True)
class EscalationPolicy:
    """When the bot hands a conversation to a person, and how urgent it is."""

    negative_turns: int = 2  # this many clearly negative customer turns in a row
    negative_threshold: float = 0.8  # p(negative) that counts as "clearly negative"
    fallbacks_before_offer: int = 2  # misunderstandings in a row before offering a human
    escalate_complaints: bool = True
    vip_negative_turns: int = 1  # VIP customers are handed over sooner


@dataclass(frozen=True)
class Config:
    project_dir: Path = field(default_factory=Path.cwd)
    database_url: str = ""
    models_dir: Path = Path("models")
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_message_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    widget_secret: str | None = None  # HMAC secret shared with the shop's backend
    session_secret: str = "change-me"
    spool_dir: Path | None = None
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)

    @property
    def domain_path(self) -> Path:
        return self.project_dir / "domain.yml"

    @property
    def rules_path(self) -> Path:
        return self.project_dir / "data" / "rules.yml"

    @property
    def nlu_path(self) -> Path:
        return self.project_dir / "data" / "nlu.yml"

    def with_overrides(self, **kwargs) -> Config:
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        project_dir = Path(env.get("CAREBOT_PROJECT_DIR", Path.cwd())).resolve()
        models_dir = Path(env.get("CAREBOT_MODELS_DIR", project_dir / "models")).resolve()
        return cls(
            project_dir=project_dir,
            database_url=env.get("CAREBOT_DATABASE_URL") or _default_db_url(project_dir),
            models_dir=models_dir,
            redis_url=env.get("CAREBOT_REDIS_URL") or None,
            host=env.get("CAREBOT_HOST", "127.0.0.1"),
            port=int(env.get("CAREBOT_PORT", "8080")),
            widget_secret=env.get("CAREBOT_WIDGET_SECRET") or None,
            session_secret=env.get("CAREBOT_SESSION_SECRET", "change-me"),
            spool_dir=Path(env.get("CAREBOT_SPOOL_DIR", project_dir / ".carebot" / "spool")),
        )
