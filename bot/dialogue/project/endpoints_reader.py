"""endpoints.yml and credentials.yml, with ``${ENV_VAR}`` values expanded as Rasa does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.dialogue.project.model import Endpoints
from bot.dialogue.project.yamlio import read_rasa_yaml

# Rasa's endpoint sections; Carebot uses action_endpoint here, and tracker_store, lock_store
# and event_broker in its settings (bot/broker/settings.py); it reports the others.
ENDPOINT_KEYS = (
    "version", "action_endpoint", "tracker_store", "lock_store", "event_broker", "models",
    "nlg", "nlu",
)
DEPLOYMENT_KEYS = ("tracker_store", "lock_store", "event_broker")
ACTION_ENDPOINT_KEYS = ("url", "token", "token_name", "headers", "params", "basic_auth",
                        "cafile", "timeout")
# credentials.yml channels Carebot serves: rest (its REST webhook), socketio (its WebSocket
# widget channel takes the place of Rasa's Socket.IO one) and rasa (Rasa X / Enterprise's
# "channel", which needs nothing from the bot).
SUPPORTED_CHANNELS = ("rest", "socketio", "rasa")


def _first(root: Path, stem: str) -> Path | None:
    return next((root / f"{stem}{s}" for s in (".yml", ".yaml") if (root / f"{stem}{s}").is_file()),
                None)


def read_endpoints(root: Path, warnings: list[str],
                   env: Mapping[str, str] | None = None) -> Endpoints:
    path = _first(root, "endpoints")
    if path is None:
        return Endpoints()
    doc = read_rasa_yaml(path, env=env or {})
    data = doc.data or {}
    if not isinstance(data, dict):
        raise doc.error("endpoints.yml must be a mapping such as 'action_endpoint: {url: ...}'")
    doc.check_keys(data, ENDPOINT_KEYS, where="endpoints.yml")
    endpoints = Endpoints()
    action = data.get("action_endpoint")
    if action is not None:
        doc.check_keys(action, ACTION_ENDPOINT_KEYS, "action_endpoint", where="action_endpoint")
        url = action.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise doc.error("action_endpoint needs url: http(s)://host:port/webhook (the action "
                            "server's webhook)", "action_endpoint", "url")
        endpoints.action_endpoint_url = url
        token = action.get("token")
        endpoints.action_endpoint_token = None if token is None else str(token)
        endpoints.action_endpoint_options = {
            k: v for k, v in action.items() if k not in ("url", "token")}
    for key, value in data.items():
        if key in ("version", "action_endpoint") or value is None:
            continue
        endpoints.other[key] = value
        if key in DEPLOYMENT_KEYS:  # read with Carebot's settings (bot/config.py)
            continue
        warnings.append(f"{path}:{doc.line_of(key)}: '{key}' is not used by Carebot, which keeps "
                        "conversations in its own database (CAREBOT_DATABASE_URL); remove it "
                        "to silence this")
    return endpoints


def read_credentials(root: Path, warnings: list[str],
                     env: Mapping[str, str] | None = None) -> dict:
    path = _first(root, "credentials")
    if path is None:
        return {}
    doc = read_rasa_yaml(path, env=env or {})
    data = doc.data or {}
    if not isinstance(data, dict):
        raise doc.error("credentials.yml must be a mapping of channel names to their settings")
    channels = {}
    for name, settings in data.items():
        name = str(name)
        if name not in SUPPORTED_CHANNELS:
            warnings.append(f"{path}:{doc.line_of(name)}: not supported by Carebot: {name} "
                            f"(Carebot serves {', '.join(SUPPORTED_CHANNELS[:2])}); remove it "
                            "or connect that platform through the REST channel")
            continue
        if settings is not None and not isinstance(settings, dict):
            raise doc.error(f"the settings of channel '{name}' must be a mapping", name)
        channels[name] = dict(settings or {})
    return channels
