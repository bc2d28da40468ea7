"""The actions find their shop themselves, from the environment the server reads too."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest

from actions.settings import Settings, Shop, current_shop
from analytics.store.shop import ShopRepository
from bot.config import Config


def test_settings_come_from_the_carebot_variables(tmp_path: Path):
    settings = Settings.from_env({
        "CAREBOT_DATABASE_URL": "postgresql://carebot@db/carebot",
        "CAREBOT_MODELS_DIR": str(tmp_path / "trained"),
    })

    assert settings.database_url == "postgresql://carebot@db/carebot"
    assert settings.models_dir == tmp_path / "trained"


def test_without_variables_the_actions_use_the_same_database_and_models_as_the_server(
    tmp_path: Path,
):
    env = {"CAREBOT_PROJECT_DIR": str(tmp_path)}

    settings, config = Settings.from_env(env), Config.from_env(env)

    assert settings.database_url == config.database_url == f"sqlite:///{tmp_path / 'carebot.db'}"
    assert settings.models_dir == config.models_dir == tmp_path / "models"


@pytest.fixture
def environment_shop(monkeypatch, use_shop, module_engine, tmp_path: Path):
    """The actions unconfigured, with the environment naming the fixture shop."""
    use_shop(None)
    monkeypatch.setenv("CAREBOT_DATABASE_URL", str(module_engine.url))
    monkeypatch.setenv("CAREBOT_MODELS_DIR", str(tmp_path / "no-models"))
    return monkeypatch


async def test_actions_run_in_process_answer_from_the_database_the_environment_names(
    environment_shop, executor, make_call
):
    result = await executor.run(
        make_call("action_order_status", order_id="A10003", email="ana@example.com")
    )

    assert "A10003 shipped on" in result.responses[0]["text"]


def test_the_shop_is_opened_once_and_again_only_when_the_environment_changes(
    environment_shop, tmp_path: Path
):
    first = current_shop()
    assert current_shop() is first
    assert first.recommender is None  # nothing trained in that models directory

    environment_shop.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    other = current_shop()

    assert other is not first
    assert other.repository.engine.url.database == str(tmp_path / "other.db")


def test_a_configured_shop_wins_over_the_environment(environment_shop, use_shop, engine):
    mine = Shop(ShopRepository(engine))
    use_shop(mine)

    assert current_shop() is mine


def test_an_unusable_recommender_file_leaves_the_actions_recommending_best_sellers(
    environment_shop, tmp_path: Path, caplog
):
    models = tmp_path / "old-models"
    models.mkdir()
    joblib.dump({"format": 1, "model": None}, models / "recommender.joblib")
    environment_shop.setenv("CAREBOT_MODELS_DIR", str(models))

    shop = current_shop()

    assert shop.recommender is None
    assert "carebot train" in caplog.text
