"""Telegram: the webhook (``POST /webhooks/telegram``), reading updates, rendering
Iara's messages for the Bot API and calling it.

- Verification: the ``X-Telegram-Bot-Api-Secret-Token`` header must equal the
  ``secret_token`` given to ``setWebhook`` (constant-time compare): missing → 401,
  wrong → 403.
- Updates: ``message`` (text; ``/start`` and ``/ajuda`` map to the engine's intents),
  ``edited_message`` (answered as a new message: a gestor edits to fix the question, and
  the corrected question deserves its answer), ``callback_query`` (answered with
  ``answerCallbackQuery``, then its payload goes to the engine as the user's message).
  Stickers, photos, voice, documents and other content → a polite "só entendo texto".
  Anything else (service messages, channel posts, chat member changes…) is ignored with
  200, so Telegram does not retry it forever.
- Rendering: HTML parse mode with everything escaped; answers split at 4096 UTF-16 units
  by ``split_text``; sources become links; buttons an inline keyboard whose
  ``callback_data`` (≤ 64 bytes) is the payload or a reference to it.
"""

from __future__ import annotations

import hmac
import html
import logging
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.channels.common import (
    SOURCES_HEADING,
    Inbound,
    command_alias,
    encode_payload,
    link_of,
    sources_of,
    split_text,
    utf16_len,
)
from api.channels.delivery import PlatformError, transport_error
from api.channels.http import accept_body, channel_error
from iara.settings import Settings

logger = logging.getLogger(__name__)

PLATFORM = "telegram"
TEXT_LIMIT = 4096  # UTF-16 code units, after entity parsing
CALLBACK_DATA_BYTES = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SHORT_BUTTON = 14  # buttons with labels this short go two to a row
# Message content Iara cannot read: answered with the "só entendo texto" message.
UNSUPPORTED_CONTENT = (
    "sticker", "photo", "voice", "audio", "video", "video_note", "document", "animation",
    "location", "venue", "contact", "poll", "dice", "game", "story", "paid_media")


class TelegramChannel:
    platform = PLATFORM
    button_data_bytes = CALLBACK_DATA_BYTES

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        assert settings.telegram_bot_token is not None
        token = settings.telegram_bot_token.get_secret_value()
        self._base = f"{str(settings.telegram_api_url).rstrip('/')}/bot{token}"
        self._http = http

    async def acknowledge(self, inbound: Inbound) -> None:
        if inbound.callback_id is not None:
            await self.call("answerCallbackQuery", {"callback_query_id": inbound.callback_id})
        elif inbound.kind == "text":
            await self.call("sendChatAction", {"chat_id": chat_ref(inbound.chat_id),
                                               "action": "typing"})

    def render(self, chat_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return render_messages(chat_id, messages)

    async def send(self, body: dict[str, Any]) -> Any:
        return await self.call("sendMessage", body)

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        """One Bot API call; its ``result``, or PlatformError."""
        try:
            response = await self._http.post(f"{self._base}/{method}", json=body)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 200 and isinstance(data, dict) and data.get("ok"):
            return data.get("result")
        description = data.get("description") if isinstance(data, dict) else None
        parameters = (data.get("parameters") if isinstance(data, dict) else None) or {}
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        status = response.status_code
        raise PlatformError(
            f"Telegram {method}: HTTP {status}: {description or 'no description'}",
            retryable=status == 429 or status >= 500,
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None)


def chat_ref(chat_id: str) -> int | str:
    """Telegram chat ids are integers (negative for groups); usernames stay strings."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


# --- Reading updates --------------------------------------------------------------------

def parse_update(update: Any) -> list[Inbound]:
    """The inbound message in a Telegram Update; [] for shapes Iara does not answer."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return []
    update_id = str(update["update_id"])
    for key in ("message", "edited_message"):
        if key in update:
            inbound = _from_message(update_id, update[key])
            return [inbound] if inbound else []
    if "callback_query" in update:
        inbound = _from_callback(update_id, update["callback_query"])
        return [inbound] if inbound else []
    return []


def _from_message(update_id: str, message: Any) -> Inbound | None:
    chat_id = _chat_id(message)
    if chat_id is None:
        return None
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return Inbound(PLATFORM, update_id, chat_id, "text", command_alias(text.strip()))
    if any(key in message for key in UNSUPPORTED_CONTENT):
        return Inbound(PLATFORM, update_id, chat_id, "unsupported")
    return None  # service messages (members joined, pinned…): nothing to answer


def _from_callback(update_id: str, query: Any) -> Inbound | None:
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        return None
    chat_id = _chat_id(query.get("message"))
    sender = query.get("from")
    if chat_id is None and isinstance(sender, dict) and isinstance(sender.get("id"), int):
        chat_id = str(sender["id"])
    if chat_id is None:
        return None
    data = query.get("data")
    return Inbound(PLATFORM, update_id, chat_id, "button",
                   data if isinstance(data, str) else "", callback_id=query["id"])


def _chat_id(message: Any) -> str | None:
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return None
    chat_id = message["chat"].get("id")
    return str(chat_id) if isinstance(chat_id, int) else None


# --- Rendering --------------------------------------------------------------------------

def render_messages(chat_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``sendMessage`` bodies for Iara's channel-neutral messages, in order."""
    bodies = []
    for message in messages:
        parts = _html_parts(message)
        keyboard = inline_keyboard(message.get("buttons") or [])
        link = link_of(message)
        if link is not None and link[1].startswith("https://"):
            keyboard.insert(0, [{"text": link[0], "url": link[1]}])
        elif link is not None:
            # Telegram takes only https addresses in URL buttons: a link in the text instead.
            parts[-1:] = _with_link(parts[-1] if parts else "", link)
        for number, part in enumerate(parts):
            body: dict[str, Any] = {
                "chat_id": chat_ref(chat_id), "text": part, "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True}}
            if keyboard and number == len(parts) - 1:
                body["reply_markup"] = {"inline_keyboard": keyboard}
            bodies.append(body)
    return bodies


def _html_parts(message: dict[str, Any]) -> list[str]:
    """The message text split at the limit and escaped; the sources as links appended to
    the last part when they fit, else in a part of their own."""
    chunks = split_text(str(message.get("text") or ""), TEXT_LIMIT, measure=utf16_len)
    parts = [html.escape(chunk, quote=False) for chunk in chunks]
    sources = sources_of(message)
    if not sources:
        return parts
    visible = "\n\n" + SOURCES_HEADING + "".join(f"\n• {title}" for title, _ in sources)
    markup = f"\n\n<b>{SOURCES_HEADING}</b>" + "".join(
        f'\n• <a href="{html.escape(url, quote=True)}">{html.escape(title, quote=False)}</a>'
        if url else f"\n• {html.escape(title, quote=False)}"
        for title, url in sources)
    if chunks and utf16_len(chunks[-1] + visible) <= TEXT_LIMIT:
        parts[-1] += markup
    else:
        parts.append(markup.lstrip("\n"))
    return parts


def _with_link(last: str, link: tuple[str, str]) -> list[str]:
    markup = f'<a href="{html.escape(link[1], quote=True)}">{html.escape(link[0], quote=False)}</a>'
    if last and utf16_len(last + "\n\n" + markup) <= TEXT_LIMIT:
        return [f"{last}\n\n{markup}"]
    return [last, markup] if last else [markup]


def inline_keyboard(buttons: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    """Rows of inline buttons: short labels two to a row, long ones alone."""
    rows: list[list[dict[str, str]]] = []
    for button in buttons:
        key = {"text": button["title"],
               "callback_data": encode_payload(button["payload"], CALLBACK_DATA_BYTES)}
        last = rows[-1] if rows else None
        if (last is not None and len(last) == 1 and len(button["title"]) <= SHORT_BUTTON
                and len(last[0]["text"]) <= SHORT_BUTTON):
            last.append(key)
        else:
            rows.append([key])
    return rows


# --- The webhook ------------------------------------------------------------------------

def telegram_router() -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/telegram", summary="Webhook do Telegram (updates do bot).",
                 description="Exige o cabeçalho X-Telegram-Bot-Api-Secret-Token; responde "
                 "200 de imediato e responde ao gestor em segundo plano.")
    async def telegram_webhook(request: Request) -> JSONResponse:
        settings: Settings = request.app.state.settings
        assert settings.telegram_webhook_secret is not None
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return channel_error(401, "unauthorized", "Token secreto do Telegram ausente.")
        expected = settings.telegram_webhook_secret.get_secret_value()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            logger.warning("Telegram webhook with a wrong secret token refused")
            return channel_error(403, "forbidden", "Token secreto do Telegram inválido.")
        return await accept_body(request, await request.body(), PLATFORM, parse_update)

    return router
