"""Carebot's configuration: the one reader of the environment (CAREBOT_*) and of Carebot's
own settings file, ``carebot.yml`` (Rasa's ``config.yml`` belongs to the Rasa project and is
read by ``bot.dialogue.project``), with overrides from the CLI."""

from __future__ import annotations

import os
import re
import secrets
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.broker.settings import EndpointsError, PikaSettings, read_deployment_endpoints
from bot.console.hours import BusinessHours, BusinessHoursError
from bot.monitoring.settings import (
    AbuseSettings,
    MonitoringSettings,
    MonitoringSettingsError,
    abuse_settings,
    monitoring_settings,
)


def _local_secret(project_dir: Path) -> str:
    """A random secret made once per installation (.carebot/session_secret, mode 0600).

    Sessions and conversation tokens are signed with it; a fixed default would let anyone
    forge an admin session. CAREBOT_SESSION_SECRET overrides it (several servers share one).
    """
    path = project_dir / ".carebot" / "session_secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def use_offline_models() -> None:
    """Models load from local directories only; a hub lookup here would hang or fail."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# glibc malloc arenas a serving process may keep (M_ARENA_MAX); see limit_malloc_arenas.
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc keep at most ``arenas`` heaps in this process. By default it opens
    one per thread up to 8 per core; a server's threads (the NLU, the log writer, the
    database's, ONNX Runtime's) each grew their own, and each kept its freed pages: 15 MB more
    RSS after 1,000 turns (401 MB vs 386 with 2, benchmarks/memory.py on the 2-core machine)
    for no speed. Call before threads start. ``MALLOC_ARENA_MAX`` in the environment wins
    (glibc reads it itself). False where this is not glibc."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-8, int(arenas)))  # -8: M_ARENA_MAX (malloc.h)
    except (OSError, AttributeError):
        return False


def export_metrics_directory(directory: str) -> None:
    """prometheus-client's multiprocess mode reads its files' folder from the environment."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def _default_db_url(project_dir: Path) -> str:
    return f"sqlite:///{(project_dir / 'carebot.db').resolve()}"


@dataclass(frozen=True)
class EscalationPolicy:
    """When the bot hands a conversation to a person, and how urgent it is."""

    negative_turns: int = 2  # this many clearly negative customer turns in a row
    negative_threshold: float = 0.8  # p(negative) that counts as "clearly negative"
    fallbacks_before_offer: int = 2  # misunderstandings in a row before offering a human
    escalate_complaints: bool = True
    # the project's intents that mean a complaint: action_handoff records them as such
    complaint_intents: tuple[str, ...] = ()
    vip_negative_turns: int = 1  # VIP customers are handed over sooner
    # The agents' queue: urgency = priority + minutes waited / this + 1 for valuable customers.
    wait_minutes_per_level: float = 5.0
    valuable_customer_spend: float = 1000.0  # lifetime spend that makes a customer valuable
    # An escalation no agent took for this long is resolved and the customer told
    # (bot/console/auto_close.py): "3 days", "12 hours", "90 minutes"; "off" keeps it queued.
    auto_close_after: str = "off"

    @property
    def auto_close_seconds(self) -> float | None:
        """``auto_close_after`` in seconds; None when off."""
        return duration_seconds(self.auto_close_after, "escalation.auto_close_after")

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str) -> EscalationPolicy:
        """A policy from settings such as config.yml's ``escalation:``; ValueError names bad ones."""
        known = {f.name: f for f in fields(cls)}
        chosen = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"{where}: unknown escalation setting '{key}'; Carebot "
                                 f"supports: {', '.join(sorted(known))}")
            chosen[key] = _setting(value, type(known[key].default), f"{where}: escalation.{key}")
        if "auto_close_after" in chosen:
            duration_seconds(chosen["auto_close_after"], f"{where}: escalation.auto_close_after")
        return cls(**chosen)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
_DURATION_UNITS = {"": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
                   "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
                   "h": 3600, "hour": 3600, "hours": 3600,
                   "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
                   "weeks": 604800}


def duration_seconds(value: Any, where: str) -> float | None:
    """A duration setting ("3 days", "12 hours", "90 minutes", "30 seconds", a number of
    seconds) in seconds; None for "off". ValueError names a bad one."""
    text = str(value).strip().lower()
    if text in ("off", "none", "0", "", "false", "no"):
        return None
    match = _DURATION.match(text)
    if match is None or match.group(2) not in _DURATION_UNITS or float(match.group(1)) <= 0:
        raise ValueError(f"{where} must be a time such as '3 days', '12 hours' or "
                         f"'90 minutes', or off; not {value!r}")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


@dataclass(frozen=True)
class RateLimits:
    """How often a client may try things; each limit is "N per PERIOD" (the ``limits``
    library's notation: "10 per 15 minutes", "30/minute") or "off"."""

    login_failures_per_account: str = "10 per 15 minutes"  # then the account is locked
    login_failures_per_address: str = "30 per 15 minutes"  # then the address is locked
    messages_per_conversation: str = "60 per minute"
    messages_per_address: str = "600 per minute"  # offices share one address behind NAT
    order_lookups_per_conversation: str = "10 per 10 minutes"
    order_lookups_per_address: str = "30 per 10 minutes"
    # The project's actions that look an order up: each run counts as one lookup. The engine
    # names no action of a particular bot; the demo shop's carebot.yml lists its own.
    lookup_actions: tuple[str, ...] = ()
    request_body_seconds: float = 10.0  # a client must send its whole body within this
    password_hash_threads: int = 2  # bcrypt runs on these threads only, never the event loop

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str) -> RateLimits:
        """Limits from carebot.yml ``limits:`` / CAREBOT_LIMIT_*; ValueError names bad ones."""
        import limits

        known = {f.name: f for f in fields(cls)}
        chosen = {}
        for key, value in values.items():
            if key not in known:
                raise SettingsError(f"{where}: unknown limit '{key}'; Carebot supports: "
                                 f"{', '.join(sorted(known))}")
            value = _setting(value, type(known[key].default), f"{where}: limits.{key}")
            if isinstance(value, str) and value.strip().lower() not in ("off", "none", "0", ""):
                try:
                    limits.parse(value)
                except ValueError:
                    raise SettingsError(f"{where}: limits.{key} must look like '10 per 15 "
                                     f"minutes' or '30/minute', or be 'off'; not {value!r}"
                                     ) from None
            chosen[key] = value
        return cls(**chosen)


def _local_raw_text_key(project_dir: Path) -> str:
    """A Fernet key made once per installation (.carebot/raw_text_key, mode 0600), used when
    CAREBOT_RAW_TEXT_KEY is not set; production sets the variable, away from the database."""
    from cryptography.fernet import Fernet

    path = project_dir / ".carebot" / "raw_text_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _raw_text_keys(env: dict[str, str], project_dir: Path) -> tuple[str, ...]:
    value = env.get("CAREBOT_RAW_TEXT_KEY", "").strip()
    if value.lower() == "off":
        return ()
    keys = tuple(k.strip() for k in value.split(",") if k.strip()) or (
        _local_raw_text_key(project_dir),)
    from cryptography.fernet import Fernet

    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise SettingsError(
                "CAREBOT_RAW_TEXT_KEY must be Fernet keys (32 url-safe base64 bytes), comma "
                "separated, the newest first; make one with: python -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    return keys


def _setting(value: Any, kind: type, where: str) -> Any:
    if kind is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError(f"{where} must be a list of names, not {value!r}")
    if kind is bool:
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return text in ("1", "true", "yes", "on")
    elif not isinstance(value, bool):
        try:
            return kind(value)
        except (TypeError, ValueError):
            pass
    expected = {bool: "true or false", int: "a whole number"}.get(kind, "a number")
    raise ValueError(f"{where} must be {expected}, not {value!r}")


SETTINGS_FILE = "carebot.yml"
SETTINGS_KEYS = ("escalation", "allowed_origins", "recommender", "limits", "privacy",
                 "monitoring", "abuse", "business_hours")
PRIVACY_KEYS = ("raw_text_retention_days",)
LEGACY_KEYS = ("escalation", "allowed_origins")


class SettingsError(ValueError):
    """Carebot's settings cannot be used as written; the message says where and what to do."""


def legacy_settings_problem(project_dir: Path) -> str | None:
    """A Carebot 0.1 ``config.yml`` (escalation / allowed_origins) where Rasa's config.yml
    now lives: say where those settings moved."""
    path = project_dir / "config.yml"
    if not path.is_file():
        return None
    from nlp.yamlfile import read_yaml

    data = read_yaml(path).data
    if not isinstance(data, dict):
        return None
    found = [key for key in LEGACY_KEYS if key in data]
    if not found:
        return None
    return (f"{path}: {', '.join(found)} are Carebot settings; config.yml is now Rasa's "
            f"(recipe, language, pipeline, policies). Move {', '.join(found)} to "
            f"{project_dir / SETTINGS_FILE}.")


def read_settings_file(path: Path) -> dict[str, Any]:
    """carebot.yml: ``escalation:`` (EscalationPolicy fields), ``allowed_origins:`` and
    ``recommender:`` (train the product recommender from the shop's orders)."""
    if not path.is_file():
        return {}
    from nlp.yamlfile import read_yaml

    doc = read_yaml(path)
    data = doc.data or {}
    doc.check_keys(data, SETTINGS_KEYS, where=path.name)
    if "escalation" in data:
        doc.check_keys(data["escalation"] or {}, [f.name for f in fields(EscalationPolicy)],
                       "escalation", where="escalation")
    if "limits" in data:
        doc.check_keys(data["limits"] or {}, [f.name for f in fields(RateLimits)], "limits",
                       where="limits")
    if "privacy" in data:
        doc.check_keys(data["privacy"] or {}, PRIVACY_KEYS, "privacy", where="privacy")
        days = (data["privacy"] or {}).get("raw_text_retention_days", 30)
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise doc.error("raw_text_retention_days must be a whole number of days (0: keep "
                            "no raw text)", "privacy", "raw_text_retention_days")
    _check_monitoring_keys(doc, data)
    if data.get("business_hours") is not None:
        try:
            BusinessHours.from_mapping(data["business_hours"])
        except BusinessHoursError as exc:
            raise doc.error(str(exc), "business_hours") from None
    if "recommender" in data and not isinstance(data["recommender"], bool):
        raise doc.error("recommender must be true or false", "recommender")
    origins = data.get("allowed_origins")
    if origins is not None and not (isinstance(origins, list)
                                    and all(isinstance(o, str) for o in origins)):
        raise doc.error("allowed_origins must be a list of origins like "
                        "https://shop.example.com, or [\"*\"] for any", "allowed_origins")
    return data


def _check_monitoring_keys(doc: Any, data: dict[str, Any]) -> None:
    """Unknown keys in ``monitoring:`` / ``abuse:`` are errors naming the file and line."""
    from bot.monitoring.settings import ABUSE_KEYS, MONITORING_KEYS, RULE_KEYS, WEBHOOK_KEYS

    if "abuse" in data:
        doc.check_keys(data["abuse"] or {}, ABUSE_KEYS, "abuse", where="abuse")
    if "monitoring" not in data:
        return
    monitoring = data["monitoring"] or {}
    doc.check_keys(monitoring, MONITORING_KEYS, "monitoring", where="monitoring")
    if monitoring.get("webhook") is not None:
        doc.check_keys(monitoring["webhook"], WEBHOOK_KEYS, "monitoring", "webhook",
                       where="monitoring.webhook")
    for i, rule in enumerate(monitoring.get("alerts") or []):
        doc.check_keys(rule, RULE_KEYS, "monitoring", "alerts", i,
                       where=f"monitoring.alerts[{i}]")


@dataclass(frozen=True)
class Config:
    project_dir: Path = field(default_factory=Path.cwd)
    database_url: str = ""
    models_dir: Path = Path("models")
    # the sentence encoder and sentiment model every project shares, built once per install
    base_models_dir: Path = Path("models") / "base"
    redis_url: str | None = None
    # the supervisor's hub socket of `carebot serve --workers N` without Redis (set by it)
    hub_socket: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_message_chars: int = 2000
    # parse results kept for messages written word for word again (CAREBOT_PARSE_CACHE; 0:
    # none, as benchmarks/load.py measures a turn whose words are new)
    parse_cache_size: int = 4096
    max_body_bytes: int = 64 * 1024
    widget_secret: str | None = None  # HMAC secret shared with the shop's backend
    session_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    spool_dir: Path | None = None
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    # Pages that may open the widget's WebSocket, e.g. ("https://shop.example.com",); "*": any.
    allowed_origins: tuple[str, ...] = ("*",)
    train_recommender: bool = False  # carebot.yml ``recommender: true``
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    abuse: AbuseSettings = field(default_factory=AbuseSettings)
    # Rasa's --auth-token for the REST channel and /model/parse (Authorization: Bearer)
    rest_token: str | None = None
    limits: RateLimits = field(default_factory=RateLimits)
    # Fernet keys for the customers' raw words (the first encrypts, all decrypt); () keeps
    # only the redacted text
    raw_text_keys: tuple[str, ...] = ()
    raw_text_retention_days: int = 30
    # carebot.yml ``business_hours``: outside them a handoff is answered as "nobody online"
    # (bot/console/hours.py); None: always open
    business_hours: BusinessHours | None = None
    # endpoints.yml's event_broker: every tracker event goes to this RabbitMQ (bot/broker)
    event_broker: PikaSettings | None = None
    # the environment Config was read from: fills ${NAME} in the Rasa project's files
    environ: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def with_overrides(self, **kwargs) -> Config:
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        project_dir = Path(env.get("CAREBOT_PROJECT_DIR", Path.cwd())).resolve()
        models_dir = Path(env.get("CAREBOT_MODELS_DIR", project_dir / "models")).resolve()
        settings_path = Path(env.get("CAREBOT_CONFIG", project_dir / SETTINGS_FILE))
        if "CAREBOT_CONFIG" not in env:
            problem = legacy_settings_problem(project_dir)
            if problem:
                raise SettingsError(problem)
        settings = read_settings_file(settings_path)
        escalation = {**(settings.get("escalation") or {}),
                      **{k[len("CAREBOT_ESCALATION_"):].lower(): v for k, v in env.items()
                         if k.startswith("CAREBOT_ESCALATION_")}}
        origins = env.get("CAREBOT_ALLOWED_ORIGINS")
        limits = {**(settings.get("limits") or {}),
                  **{k[len("CAREBOT_LIMIT_"):].lower(): v for k, v in env.items()
                     if k.startswith("CAREBOT_LIMIT_")}}
        try:
            monitoring = monitoring_settings(settings.get("monitoring") or {}, env)
            abuse = abuse_settings(settings.get("abuse") or {})
        except MonitoringSettingsError as exc:
            raise SettingsError(f"{settings_path}: {exc}") from None
        try:
            endpoints = read_deployment_endpoints(project_dir, env)
        except EndpointsError as exc:
            raise SettingsError(str(exc)) from None
        privacy = settings.get("privacy") or {}
        retention = env.get("CAREBOT_RAW_TEXT_RETENTION_DAYS",
                            privacy.get("raw_text_retention_days", 30))
        return cls(
            project_dir=project_dir,
            # CAREBOT_DATABASE_URL / CAREBOT_REDIS_URL win over endpoints.yml's tracker_store
            # and lock_store
            database_url=env.get("CAREBOT_DATABASE_URL") or endpoints.database_url
            or _default_db_url(project_dir),
            models_dir=models_dir,
            base_models_dir=Path(env.get("CAREBOT_BASE_MODELS_DIR")
                                 or Path(sys.prefix) / "share" / "carebot" / "base-models"),
            redis_url=env.get("CAREBOT_REDIS_URL") or endpoints.redis_url,
            event_broker=endpoints.event_broker,
            host=env.get("CAREBOT_HOST", "127.0.0.1"),
            port=int(env.get("CAREBOT_PORT", "8080")),
            parse_cache_size=_setting(env.get("CAREBOT_PARSE_CACHE", 4096), int,
                                      "CAREBOT_PARSE_CACHE"),
            widget_secret=env.get("CAREBOT_WIDGET_SECRET") or None,
            session_secret=env.get("CAREBOT_SESSION_SECRET") or _local_secret(project_dir),
            spool_dir=Path(env.get("CAREBOT_SPOOL_DIR", project_dir / ".carebot" / "spool")),
            escalation=EscalationPolicy.from_mapping(
                escalation, f"{settings_path.name} / CAREBOT_ESCALATION_*"),
            allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip())
            if origins else tuple(settings.get("allowed_origins") or ("*",)),
            train_recommender=bool(settings.get("recommender", False)),
            monitoring=monitoring,
            abuse=abuse,
            environ=env,
            rest_token=env.get("CAREBOT_REST_TOKEN") or None,
            limits=RateLimits.from_mapping(limits, f"{settings_path.name} / CAREBOT_LIMIT_*"),
            raw_text_keys=_raw_text_keys(env, project_dir),
            raw_text_retention_days=_setting(retention, int,
                                             "CAREBOT_RAW_TEXT_RETENTION_DAYS"),
            business_hours=BusinessHours.from_mapping(settings["business_hours"])
            if settings.get("business_hours") is not None else None,
        )
