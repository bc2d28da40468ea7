"""Where the shop's actions find their data: the one module of ``actions`` that reads the
environment.

The actions configure themselves, as any Rasa action package does: they run in Carebot's
server and unchanged under rasa-sdk's own action server, where nobody can hand them
anything. They read the variables (and defaults) Carebot's server reads, so actions run
in-process use the server's database:

    CAREBOT_DATABASE_URL   the shop's database; default: SQLite carebot.db in the project
    CAREBOT_MODELS_DIR     where `carebot train` saved recommender.joblib; default: models/
                           in the project
    CAREBOT_PROJECT_DIR    the bot project; default: the working directory
    CAREBOT_BASE_MODELS_DIR  the sentence encoder's exported ONNX graph, for the product
                           search; default: Carebot's install, else CAREBOT_MODELS_DIR.
                           In Carebot's server this is the encoder the NLU has loaded
                           already (one per process), not a second copy.

Tests call :func:`configure` with a shop of their own.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from actions.product_search import ProductSearch
from analytics.insights.recommender import Recommender, RecommenderUnusable, load_recommender
from analytics.store.db import describe, make_engine
from analytics.store.shop import ShopRepository

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    database_url: str
    models_dir: Path
    # where the encoder's ONNX graph may be, first found wins (see base_models_dir)
    encoder_dirs: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        project_dir = Path(env.get("CAREBOT_PROJECT_DIR") or Path.cwd()).resolve()
        models_dir = Path(env.get("CAREBOT_MODELS_DIR") or project_dir / "models").resolve()
        # Spelt as Carebot's server spells it (bot/config.py), so that the encoder's
        # process-wide instance is the one the server's NLU loaded.
        base = Path(env.get("CAREBOT_BASE_MODELS_DIR")
                    or Path(sys.prefix) / "share" / "carebot" / "base-models")
        return cls(
            database_url=env.get("CAREBOT_DATABASE_URL")
            or f"sqlite:///{project_dir / 'carebot.db'}",
            models_dir=models_dir,
            encoder_dirs=(base, models_dir),
        )

    @property
    def base_models_dir(self) -> Path | None:
        """The first of ``encoder_dirs`` with the encoder's exported ONNX graph, or None."""
        from nlp.encoder import JOINT_ONNX_FILE, JOINT_ONNX_INT8_FILE

        return next((d for d in self.encoder_dirs
                     if any((d / n).exists() for n in (JOINT_ONNX_INT8_FILE, JOINT_ONNX_FILE))),
                    None)


@dataclass(frozen=True)
class Shop:
    """What the actions answer from: the shop's data and, once trained, the recommender."""

    repository: ShopRepository
    recommender: Recommender | None = None
    # without an encoder (tests, no exported graph) the search matches product words only
    search: ProductSearch = field(default_factory=lambda: ProductSearch(None))

    @classmethod
    def open(cls, settings: Settings) -> Shop:
        """Connect to the settings' database and load the recommender (reads a file)."""
        engine = make_engine(settings.database_url)
        logger.info("actions use database %s and models in %s", describe(engine),
                    settings.models_dir)
        try:
            recommender = load_recommender(settings.models_dir)
        except RecommenderUnusable as exc:
            # Customers still get best sellers; the operator finds what to do in the log.
            logger.error("%s; recommending best sellers until then", exc)
            recommender = None
        shop = cls(ShopRepository(engine), recommender, ProductSearch(product_encoder(settings)))
        # The catalogue's embeddings (a second or so for a few hundred products) are computed
        # now, beside the turn that opened the shop, not inside the first customer's product
        # search, which every search arriving meanwhile would wait behind.
        threading.Thread(target=shop.warm, name="shop-warm-up", daemon=True).start()
        return shop

    def warm(self) -> None:
        """Prepare the product search for the current catalogue (a failure only logs: the
        first search prepares it again)."""
        try:
            self.search.prepare(self.repository.products())
        except Exception:  # noqa: BLE001 - a warm-up must never take the process down
            logger.warning("preparing the product search failed; the first search will try again",
                           exc_info=True)


def product_encoder(settings: Settings):
    """The sentence encoder's ``encode`` for the product search: the process-wide ONNX
    encoder of the base models (the NLU's own in Carebot's server). Never torch: without an
    exported graph the search matches words only."""
    base = settings.base_models_dir
    if base is None:
        logger.warning("no exported sentence encoder in %s: product search matches product "
                       "words only", ", ".join(map(str, settings.encoder_dirs)))
        return None
    from nlp.encoder import SentenceEncoder

    return SentenceEncoder.shared(base).encode


_lock = threading.Lock()
_configured: Shop | None = None
_opened: tuple[Settings, Shop] | None = None


def configure(shop: Shop | None) -> None:
    """Make the actions use ``shop`` from now on; None goes back to the environment's."""
    global _configured
    with _lock:
        _configured = shop


def current_shop() -> Shop:
    """The configured shop, else the environment's, opened on first use.

    The environment is looked at on every call (it is cheap) so a process that runs the
    bot under another environment, as the CLI's tests do, never gets the previous shop;
    the database and the recommender are only opened again when the settings change.
    """
    global _opened
    with _lock:
        if _configured is not None:
            return _configured
        settings = Settings.from_env()
        if _opened is None or _opened[0] != settings:
            if _opened is not None:
                _opened[1].repository.engine.dispose()
            _opened = (settings, Shop.open(settings))
        return _opened[1]
