"""Client of the Rasa engine: its REST channel for chat, its HTTP API for status."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from index.errors import EngineResponseError, EngineUnavailableError

logger = logging.getLogger(__name__)


class EngineClient:
    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str | None,
                 chat_timeout_s: float | None = None) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._token = token
        # A chat message may wait out a model swap; status checks keep the short timeout.
        self._chat_timeout = (httpx.Timeout(chat_timeout_s, connect=10.0)
                              if chat_timeout_s else client.timeout)

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Pass one user message to the engine; return the bot messages it produced."""
        url = f"{self._base_url}/webhooks/rest/webhook"
        try:
            response = await self._client.post(url, json={"sender": sender, "message": text},
                                               timeout=self._chat_timeout)
        except httpx.HTTPError as exc:
            raise EngineUnavailableError(f"engine unreachable at {url}: {exc!r}") from exc
        if response.status_code >= 500:
            raise EngineUnavailableError(f"engine answered {response.status_code}")
        if response.status_code != 200:
            raise EngineResponseError(f"engine answered {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise EngineResponseError("engine answered with invalid JSON") from exc
        if not isinstance(payload, list):
            raise EngineResponseError("engine answered with something other than a list")
        return [m for m in payload if isinstance(m, dict)]

    async def status(self) -> dict[str, Any]:
        """The engine's /status (needs the auth token); raises when unavailable."""
        params = {"token": self._token} if self._token else {}
        try:
            response = await self._client.get(f"{self._base_url}/status", params=params)
        except httpx.HTTPError as exc:
            raise EngineUnavailableError(f"engine unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise EngineUnavailableError(f"engine /status answered {response.status_code}")
        data: dict[str, Any] = response.json()
        return data


def normalize_messages(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa REST output -> the API's channel-neutral messages.

    Knowledge answers arrive as one ``custom`` payload (text, buttons, sources), because
    the REST channel would split a plain text at blank lines and drop the sources.
    """
    messages = []
    for message in raw:
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("text"):
            messages.append({
                "text": str(custom["text"]),
                "buttons": _buttons(custom.get("buttons")),
                "sources": [s for s in custom.get("sources") or [] if isinstance(s, dict)],
                "link": _link(custom.get("link")),
                "handoff": custom.get("handoff") is True,
            })
        elif message.get("text"):
            messages.append({
                "text": str(message["text"]),
                "buttons": _buttons(message.get("buttons")),
                "sources": [],
                "link": None,
                "handoff": False,
            })
    return messages


def _link(raw: Any) -> dict[str, str] | None:
    if isinstance(raw, dict) and raw.get("title") and isinstance(raw.get("url"), str):
        return {"title": str(raw["title"]), "url": str(raw["url"])}
    return None


def _buttons(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        return []
    return [
        {"title": str(b["title"]), "payload": str(b.get("payload") or b["title"])}
        for b in raw
        if isinstance(b, dict) and b.get("title")
    ]
