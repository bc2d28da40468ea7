"""Call a remote action server with Rasa's action-server protocol (``rasa run actions``,
``carebot run actions``, or any server speaking it), as endpoints.yml's ``action_endpoint``
asks. A turn never hangs on it: every call has a total timeout."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from bot.dialogue.actions.base import (
    ActionFailed,
    ActionNotFound,
    ActionRejected,
    ActionResult,
    ActionServerUnavailable,
)
from bot.dialogue.project.model import Endpoints

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0  # seconds for one action, connecting included
# Sent as the caller's Rasa version; rasa_sdk warns when major.minor differ from its own.
try:
    from rasa_sdk import __version__ as _SDK_VERSION
except ImportError:  # pragma: no cover - rasa_sdk is a dependency
    _SDK_VERSION = "3.6.21"
_START_HINT = ("start it with `carebot run actions` (or `rasa run actions`) in the project "
               "folder, or fix action_endpoint.url in endpoints.yml")


class RemoteActions:
    """Runs custom actions on the action server at ``url`` (e.g. http://localhost:5055/webhook).

    ``token`` is sent as the query parameter ``token_name`` (Rasa's EndpointConfig does the
    same); ``headers`` and ``params`` are added to every call. One aiohttp session per
    instance, opened on the first call and closed by ``close()``.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token_name: str = "token",
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        version: str = _SDK_VERSION,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"the action server timeout must be positive, not {timeout}")
        self.url = url
        self.timeout = float(timeout)
        self._params = dict(params or {})
        if token:
            self._params[token_name] = token
        self._headers = dict(headers or {})
        self._auth = aiohttp.BasicAuth(*basic_auth) if basic_auth else None
        self._version = version
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_endpoints(cls, endpoints: Endpoints, *, timeout: float | None = None
                       ) -> RemoteActions | None:
        """The runner endpoints.yml's ``action_endpoint`` describes; None without one.
        ``timeout`` overrides the endpoint's own ``timeout`` key (default 10 s)."""
        if not endpoints.action_endpoint_url:
            return None
        options = endpoints.action_endpoint_options or {}
        auth = options.get("basic_auth") or {}
        return cls(
            endpoints.action_endpoint_url,
            endpoints.action_endpoint_token,
            timeout=float(timeout or options.get("timeout") or DEFAULT_TIMEOUT),
            token_name=str(options.get("token_name") or "token"),
            headers={str(k): str(v) for k, v in (options.get("headers") or {}).items()},
            params={str(k): str(v) for k, v in (options.get("params") or {}).items()},
            basic_auth=(str(auth["username"]), str(auth["password"]))
            if "username" in auth and "password" in auth else None,
        )

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers=self._headers,
                auth=self._auth,
            )
        return self._session

    async def run(self, action_name: str, tracker: dict, domain: dict) -> ActionResult:
        """POST the action call; the answer's events and responses, or an ActionError."""
        body = {
            "next_action": action_name,
            "sender_id": tracker.get("sender_id"),
            "tracker": tracker,
            "domain": domain,  # Rasa sends it only when asked (send_domain); always is allowed
            "version": self._version,
        }
        try:
            async with self._open_session().post(self.url, json=body, params=self._params) as reply:
                status, text = reply.status, await reply.text()
        except TimeoutError as exc:
            raise ActionServerUnavailable(
                action_name,
                f"The action server at {self.url} did not answer '{action_name}' within "
                f"{self.timeout:g} s; check that it is running and not stuck ({_START_HINT}), "
                "or raise action_endpoint's timeout in endpoints.yml.",
            ) from exc
        except aiohttp.ClientError as exc:
            raise ActionServerUnavailable(
                action_name,
                f"Cannot reach the action server at {self.url} to run '{action_name}' "
                f"({type(exc).__name__}: {exc}); {_START_HINT}.",
            ) from exc
        return self._result(action_name, status, text)

    def _result(self, action_name: str, status: int, text: str) -> ActionResult:
        payload = _json_or_none(text)
        error = payload.get("error") if isinstance(payload, dict) else None
        if status == 200:
            if payload is None and text.strip() not in ("", "null"):
                raise ActionFailed(action_name, f"The action server at {self.url} answered "
                                   f"'{action_name}' with something that is not JSON: "
                                   f"{text[:200]!r}.")
            payload = payload or {}
            return ActionResult(events=list(payload.get("events") or []),
                                responses=list(payload.get("responses") or []))
        if status == 400 and isinstance(payload, dict) and "action_name" in payload:
            raise ActionRejected(str(payload.get("action_name") or action_name),
                                 str(error or f"Custom action '{action_name}' rejected execution."))
        if status == 404:
            raise ActionNotFound(
                action_name,
                f"The action server at {self.url} has no action '{action_name}'"
                f"{f' ({error})' if error else ''}; add it to the actions package the server "
                "runs (and restart it), or remove the action from domain.yml.",
            )
        if status in (401, 403):
            raise ActionFailed(action_name, f"The action server at {self.url} refused the call "
                               f"to '{action_name}' (HTTP {status}); check action_endpoint's "
                               "token (or headers) in endpoints.yml.")
        detail = error or text[:200]
        raise ActionFailed(action_name, f"The action server at {self.url} failed to run "
                           f"'{action_name}' (HTTP {status}: {detail}); its log has the details.")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None

