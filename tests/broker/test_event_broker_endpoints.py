"""endpoints.yml's tracker_store, lock_store and event_broker, as Rasa users write them, read
into Carebot's settings; CAREBOT_* variables win; what Carebot cannot serve is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, SettingsError


def settings(project: Path, endpoints: str, **env: str) -> Config:
    (project / "endpoints.yml").write_text(endpoints)
    return Config.from_env({"CAREBOT_PROJECT_DIR": str(project), "CAREBOT_RAW_TEXT_KEY": "off",
                            **env})


def test_a_sql_tracker_store_and_redis_lock_store_become_the_database_and_redis(tmp_path):
    config = settings(tmp_path, """
tracker_store:
  type: SQL
  dialect: postgresql
  url: db.internal
  port: 5433
  db: rasa
  username: bot
  password: ${DB_PASSWORD}
lock_store:
  type: redis
  url: redis.internal
  port: 6380
  password: p@ss
  db: 2
""", DB_PASSWORD="s3cret/x")
    assert config.database_url == "postgresql+psycopg2://bot:s3cret%2Fx@db.internal:5433/rasa"
    assert config.redis_url == "redis://:p%40ss@redis.internal:6380/2"
    assert config.event_broker is None


def test_a_sqlite_tracker_store_is_a_file_in_the_project(tmp_path):
    config = settings(tmp_path, "tracker_store:\n  type: sql\n  db: conversations.db\n")
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'conversations.db'}"
    assert settings(tmp_path, "lock_store:\n  type: in_memory\n").redis_url is None


def test_carebot_variables_win_over_endpoints_yml(tmp_path):
    config = settings(tmp_path, "tracker_store:\n  type: sql\n  db: rasa.db\n"
                      "lock_store:\n  type: redis\n  url: localhost\n",
                      CAREBOT_DATABASE_URL="sqlite:////tmp/carebot-env.db",
                      CAREBOT_REDIS_URL="redis://127.0.0.1:6379/5")
    assert config.database_url == "sqlite:////tmp/carebot-env.db"
    assert config.redis_url == "redis://127.0.0.1:6379/5"


def test_a_pika_event_broker_as_rasa_reads_it(tmp_path):
    broker = settings(tmp_path, """
event_broker:
  type: pika
  url: rabbit.internal
  username: carebot
  password: secret
  queues:
    - rasa_production_events
    - warehouse
""").event_broker
    assert (broker.host, broker.port, broker.username, broker.password) == (
        "rabbit.internal", 5672, "carebot", "secret")
    assert broker.queues == ("rasa_production_events", "warehouse")
    assert broker.exchange_name == "rasa-exchange"
    assert "secret" not in repr(broker) and "secret" not in broker.describe()


def test_an_amqp_url_a_single_queue_and_no_type_are_rasas_too(tmp_path):
    broker = settings(tmp_path, "event_broker:\n  url: amqps://u:pw@mq.example.com/shop\n"
                      "  queue: events\n  exchange_name: shop-exchange\n").event_broker
    assert (broker.host, broker.port, broker.ssl, broker.virtual_host) == (
        "mq.example.com", 5671, True, "shop")
    assert (broker.username, broker.password, broker.queues) == ("u", "pw", ("events",))
    assert broker.url == "amqps://u:pw@mq.example.com:5671/shop"


@pytest.mark.parametrize(("endpoints", "message"), [
    ("tracker_store:\n  type: mongod\n  url: mongodb://m\n",
     r"endpoints.yml:2: tracker_store type 'mongod' is not supported by Carebot; Carebot supports "
     r"type: sql"),
    ("tracker_store:\n  url: db\n",
     r"endpoints.yml:1: tracker_store has no type; Carebot supports "
     r"type: sql"),
    ("lock_store:\n  type: concurrent_redis\n",
     r"endpoints.yml:2: lock_store type 'concurrent_redis' is not supported by Carebot; "
     r"Carebot supports type: redis .* or in_memory"),
    ("event_broker:\n  type: kafka\n  url: k:9092\n",
     r"endpoints.yml:2: event_broker type 'kafka' is not supported by Carebot; Carebot supports "
     r"type: pika \(RabbitMQ\)"),
    ("event_broker:\n  type: pika\n  exhange_name: x\n",
     r"endpoints.yml:3: event_broker has no setting 'exhange_name'; it takes: type, url"),
    ("event_broker:\n  queues: {a: 1}\n",
     r"endpoints.yml:1: event_broker: queues must be a list of queue names"),
    ("event_broker:\n  password: ${RABBIT_PASSWORD}\n",
     r"endpoints.yml:2: environment variable 'RABBIT_PASSWORD' is not set"),
])
def test_what_carebot_cannot_serve_is_a_settings_error_saying_what_it_can(tmp_path, endpoints,
                                                                        message):
    with pytest.raises(SettingsError, match=message):
        settings(tmp_path, endpoints)
