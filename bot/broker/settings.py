"""The deployment sections of a Rasa project's ``endpoints.yml`` as Carebot uses them:
``tracker_store`` (SQL) becomes the database URL, ``lock_store`` (Redis) the Redis URL, and
``event_broker`` (pika) the RabbitMQ every tracker event is published to.

The keys are Rasa's (``rasa/core/tracker_store.py``, ``lock_store.py``, ``brokers/pika.py``),
so an ``endpoints.yml`` written for Rasa works unchanged; keys Rasa does not have are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

DEFAULT_EXCHANGE = "rasa-exchange"  # Rasa's RABBITMQ_EXCHANGE
DEFAULT_QUEUE = "rasa_core_events"  # Rasa's DEFAULT_QUEUE_NAME

TRACKER_STORE_KEYS = ("type", "dialect", "url", "port", "db", "username", "password",
                      "query", "login_db")
LOCK_STORE_KEYS = ("type", "url", "port", "db", "password", "use_ssl", "key_prefix",
                   "socket_timeout")
EVENT_BROKER_KEYS = ("type", "url", "host", "port", "username", "password", "queues", "queue",
                     "exchange_name", "connection_attempts", "retry_delay_in_seconds",
                     "should_keep_unpublished_messages", "raise_on_failure")


class EndpointsError(ValueError):
    """endpoints.yml's deployment sections cannot be used as written (file, line, what to do)."""


@dataclass(frozen=True)
class PikaSettings:
    """Rasa's PikaEventBroker settings: where RabbitMQ is and which queues get the events."""

    host: str = "localhost"
    port: int = 5672
    username: str = "guest"
    password: str = field(default="guest", repr=False)
    queues: tuple[str, ...] = (DEFAULT_QUEUE,)
    exchange_name: str = DEFAULT_EXCHANGE
    retry_delay_in_seconds: float = 5.0
    ssl: bool = False
    virtual_host: str = "/"

    @property
    def url(self) -> str:
        """The AMQP URL (with the password) aio-pika connects to."""
        scheme = "amqps" if self.ssl else "amqp"
        vhost = quote(self.virtual_host, safe="")
        return (f"{scheme}://{quote(self.username, safe='')}:{quote(self.password, safe='')}"
                f"@{self.host}:{self.port}/{vhost}")

    def describe(self) -> str:
        """Where events go, without the password (for logs)."""
        return (f"RabbitMQ {self.host}:{self.port} exchange '{self.exchange_name}' "
                f"queues {', '.join(self.queues)}")


@dataclass(frozen=True)
class DeploymentEndpoints:
    """What endpoints.yml says about storage and streaming (None: not set there)."""

    database_url: str | None = None
    redis_url: str | None = None
    event_broker: PikaSettings | None = None


def _type(section: Mapping[str, Any], default: str | None) -> str | None:
    value = section.get("type", default)
    return None if value is None else str(value).strip().lower()


def sql_url(section: Mapping[str, Any], project_dir: Path) -> str:
    """Rasa's SQLTrackerStore URL: ``dialect`` (default sqlite), ``url`` (the host, or a
    whole database URL), ``port``, ``db``, ``username``, ``password``, ``query``."""
    from sqlalchemy.engine import URL

    host = section.get("url")
    if isinstance(host, str) and "://" in host:
        return host
    dialect = str(section.get("dialect") or "sqlite")
    db = section.get("db")
    if dialect.startswith("sqlite"):
        path = Path(str(db or "rasa.db"))
        return f"sqlite:///{(path if path.is_absolute() else project_dir / path).resolve()}"
    if dialect in ("postgresql", "postgres"):
        dialect = "postgresql+psycopg2"
    port = section.get("port")
    query = section.get("query") or {}
    return URL.create(
        drivername=dialect, username=section.get("username"),
        password=None if section.get("password") is None else str(section["password"]),
        host=host, port=None if port is None else int(port),
        database=None if db is None else str(db),
        query={str(k): str(v) for k, v in dict(query).items()},
    ).render_as_string(hide_password=False)


def redis_url(section: Mapping[str, Any]) -> str:
    """Rasa's RedisLockStore URL: ``url`` (host), ``port`` (6379), ``db`` (1), ``password``,
    ``use_ssl``; a whole redis:// URL in ``url`` is taken as it is."""
    host = str(section.get("url") or "localhost")
    if "://" in host:
        return host
    scheme = "rediss" if section.get("use_ssl") else "redis"
    password = section.get("password")
    auth = f":{quote(str(password), safe='')}@" if password else ""
    return f"{scheme}://{auth}{host}:{int(section.get('port') or 6379)}/{int(section.get('db', 1))}"


def pika_settings(section: Mapping[str, Any]) -> PikaSettings:
    """Rasa's PikaEventBroker settings; ``url`` may be a host or an amqp(s):// URL."""
    host = str(section.get("url") or section.get("host") or "localhost")
    ssl, vhost = False, "/"
    username = section.get("username")
    password = section.get("password")
    port = section.get("port")
    if host.startswith(("amqp://", "amqps://")):
        parts = urlsplit(host)
        ssl = parts.scheme == "amqps"
        username = username if username is not None else parts.username
        password = password if password is not None else parts.password
        port = port if port is not None else parts.port
        vhost = unquote(parts.path[1:]) or "/"
        host = parts.hostname or "localhost"
    queues = section.get("queues", section.get("queue"))
    if queues is None:
        queues = [DEFAULT_QUEUE]
    elif isinstance(queues, str):
        queues = [queues]
    if not (isinstance(queues, list) and queues and all(isinstance(q, str) and q
                                                         for q in queues)):
        raise ValueError("queues must be a list of queue names, e.g. queues: [rasa_events]")
    return PikaSettings(
        host=host, port=int(port if port is not None else (5671 if ssl else 5672)),
        username=str(username if username is not None else "guest"),
        password=str(password if password is not None else "guest"),
        queues=tuple(queues), exchange_name=str(section.get("exchange_name")
                                                or DEFAULT_EXCHANGE),
        retry_delay_in_seconds=float(section.get("retry_delay_in_seconds", 5)),
        ssl=ssl, virtual_host=vhost,
    )


def read_deployment_endpoints(project_dir: Path, env: Mapping[str, str]) -> DeploymentEndpoints:
    """The ``tracker_store``, ``lock_store`` and ``event_broker`` of the project's
    endpoints.yml (``${NAME}`` filled from ``env``); an unsupported type or key is an
    EndpointsError naming the file, the line and what Carebot supports."""
    # imported here: bot.config imports this module, and the project reader is big
    from bot.dialogue.project.yamlio import read_rasa_yaml
    from nlp.yamlfile import BotFileError

    path = next((project_dir / f"endpoints{s}" for s in (".yml", ".yaml")
                 if (project_dir / f"endpoints{s}").is_file()), None)
    if path is None:
        return DeploymentEndpoints()
    try:
        doc = read_rasa_yaml(path, env=env)
    except BotFileError as exc:
        raise EndpointsError(str(exc)) from None
    data = doc.data if isinstance(doc.data, dict) else {}

    def section(key: str, keys: tuple[str, ...]) -> dict | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise EndpointsError(f"{path}:{doc.line_of(key)}: {key} must be a mapping "
                                 "such as 'type: ...'")
        unknown = sorted(str(k) for k in value if k not in keys)
        if unknown:
            raise EndpointsError(f"{path}:{doc.line_of(key, unknown[0])}: {key} has no setting "
                                 f"'{unknown[0]}'; it takes: {', '.join(keys)}")
        return value

    def unsupported(key: str, kind: str | None, supported: str) -> EndpointsError:
        what = f"type '{kind}' is not supported by Carebot" if kind else "has no type"
        return EndpointsError(f"{path}:{doc.line_of(key, 'type')}: {key} {what}; Carebot "
                              f"supports {supported}")

    database = lock = broker = None
    tracker = section("tracker_store", TRACKER_STORE_KEYS)
    if tracker is not None:
        kind = _type(tracker, None)
        if kind != "sql":
            raise unsupported("tracker_store", kind, "type: sql (PostgreSQL or SQLite; "
                              "or set CAREBOT_DATABASE_URL)")
        try:
            database = sql_url(tracker, project_dir)
        except (TypeError, ValueError) as exc:
            raise EndpointsError(f"{path}:{doc.line_of('tracker_store')}: tracker_store: "
                                 f"{exc}") from None
    locks = section("lock_store", LOCK_STORE_KEYS)
    if locks is not None:
        kind = _type(locks, None)
        if kind == "redis":
            try:
                lock = redis_url(locks)
            except (TypeError, ValueError) as exc:
                raise EndpointsError(f"{path}:{doc.line_of('lock_store')}: lock_store: "
                                     f"{exc}") from None
        elif kind != "in_memory":
            raise unsupported("lock_store", kind, "type: redis (shared by several servers) "
                              "or in_memory (one server process)")
    events = section("event_broker", EVENT_BROKER_KEYS)
    if events is not None:
        kind = _type(events, "pika")  # Rasa's default broker
        if kind != "pika":
            raise unsupported("event_broker", kind, "type: pika (RabbitMQ)")
        try:
            broker = pika_settings(events)
        except (TypeError, ValueError) as exc:
            raise EndpointsError(f"{path}:{doc.line_of('event_broker')}: event_broker: "
                                 f"{exc}") from None
    return DeploymentEndpoints(database_url=database, redis_url=lock, event_broker=broker)
