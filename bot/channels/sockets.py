"""The customers' open WebSockets in this process, by conversation id."""

from __future__ import annotations

from aiohttp import web


class CustomerSockets:
    """Which sockets show a conversation; a conversation may be open in several tabs."""

    def __init__(self) -> None:
        self._by_conversation: dict[str, set[web.WebSocketResponse]] = {}

    def add(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        self._by_conversation.setdefault(conversation_id, set()).add(ws)

    def discard(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        open_sockets = self._by_conversation.get(conversation_id)
        if open_sockets is not None:
            open_sockets.discard(ws)
            if not open_sockets:
                del self._by_conversation[conversation_id]

    def of(self, conversation_id: str) -> list[web.WebSocketResponse]:
        return list(self._by_conversation.get(conversation_id, ()))

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_conversation.values())
