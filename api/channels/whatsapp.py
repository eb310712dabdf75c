"""WhatsApp Cloud API: the webhook (``GET``/``POST /webhooks/whatsapp``), reading its
notifications, rendering Iara's messages for the Graph API and calling it.

- Verification handshake: ``GET`` with ``hub.mode=subscribe``, ``hub.verify_token``
  and ``hub.challenge`` → the challenge as plain text; anything else → 403.
- Notifications: ``X-Hub-Signature-256`` must be ``sha256=`` + the HMAC-SHA256 of the
  raw body with the app secret (constant-time compare): missing → 401, wrong → 403.
  Text messages and interactive replies (``button_reply``, ``list_reply``) are answered;
  media, locations and contacts get the polite "só entendo texto"; status callbacks
  (``statuses``), reactions and system messages are ignored with 200.
- Rendering: text bodies split at 4096 characters by ``split_text``; sources as
  "título: URL" lines; up to 3 buttons become reply buttons (titles ≤ 20), more become
  a list message (up to 10 rows, titles ≤ 24, the full label as the row description).
  An interactive body holds at most 1024 characters: a longer answer goes as text and
  its last paragraphs that fit (usually the sources) carry the buttons.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.channels.common import (
    CHOOSE_TEXT,
    SOURCES_HEADING,
    Inbound,
    encode_payload,
    link_of,
    sources_of,
    split_text,
    truncate_title,
    unique_titles,
)
from api.channels.delivery import PlatformError, transport_error
from api.channels.http import accept_body, channel_error
from iara.settings import Settings

logger = logging.getLogger(__name__)

PLATFORM = "whatsapp"
TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
REPLY_BUTTONS = 3
BUTTON_TITLE = 20
LIST_ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
BUTTON_DATA_BYTES = 200  # list row ids (reply button ids allow 256)
LIST_BUTTON = "Ver opções"
LIST_SECTION = "Opções"
SIGNATURE_HEADER = "X-Hub-Signature-256"
UNSUPPORTED_TYPES = ("image", "audio", "video", "document", "sticker", "location",
                     "contacts", "unsupported")
# Graph API error codes that mean "too fast" or "try later".
RETRYABLE_CODES = {1, 2, 4, 17, 80007, 130429, 131000, 131016, 131056}


class WhatsAppChannel:
    platform = PLATFORM
    button_data_bytes = BUTTON_DATA_BYTES

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        assert settings.whatsapp_access_token is not None
        base = str(settings.whatsapp_graph_url).rstrip("/")
        self._url = (f"{base}/{settings.whatsapp_graph_version}/"
                     f"{settings.whatsapp_phone_number_id}/messages")
        self._headers = {
            "Authorization": f"Bearer {settings.whatsapp_access_token.get_secret_value()}"}
        self._http = http

    async def acknowledge(self, inbound: Inbound) -> None:
        """Mark the message read (blue ticks) while Iara thinks."""
        await self.send({"messaging_product": "whatsapp", "status": "read",
                         "message_id": inbound.update_id})

    def render(self, chat_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return render_messages(chat_id, messages)

    async def send(self, body: dict[str, Any]) -> Any:
        try:
            response = await self._http.post(self._url, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 200:
            return data
        error = data.get("error") if isinstance(data, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        status = response.status_code
        retry_after = response.headers.get("Retry-After")
        raise PlatformError(
            f"WhatsApp: HTTP {status}: ({code}) {error.get('message') or 'no message'}",
            retryable=status == 429 or status >= 500 or code in RETRYABLE_CODES,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)


# --- Reading notifications --------------------------------------------------------------

def parse_notification(payload: Any) -> list[Inbound]:
    """The messages Iara answers in a webhook notification; [] for anything else."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return []
    inbounds = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            for message in _dicts(value.get("messages")):
                inbound = _from_message(message)
                if inbound is not None:
                    inbounds.append(inbound)
    return inbounds


def _from_message(message: dict[str, Any]) -> Inbound | None:
    message_id, wa_id, kind = message.get("id"), message.get("from"), message.get("type")
    if not (isinstance(message_id, str) and isinstance(wa_id, str) and message_id and wa_id):
        return None
    content = message.get(kind) if isinstance(kind, str) else None
    content = content if isinstance(content, dict) else {}
    if kind == "text" and isinstance(content.get("body"), str) and content["body"].strip():
        return Inbound(PLATFORM, message_id, wa_id, "text", content["body"].strip())
    if kind == "interactive":
        reply = content.get(str(content.get("type")))
        if content.get("type") in ("button_reply", "list_reply") and isinstance(reply, dict) \
                and isinstance(reply.get("id"), str):
            return Inbound(PLATFORM, message_id, wa_id, "button", reply["id"])
        return None
    if kind == "button" and isinstance(content.get("text"), str):  # template quick reply
        return Inbound(PLATFORM, message_id, wa_id, "text", content["text"])
    if kind in UNSUPPORTED_TYPES:
        return Inbound(PLATFORM, message_id, wa_id, "unsupported")
    return None  # reactions, system notices, orders…: nothing to answer


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def valid_signature(app_secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


# --- Rendering --------------------------------------------------------------------------

def render_messages(wa_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Graph API ``/messages`` bodies for Iara's channel-neutral messages, in order."""
    bodies = []
    for message in messages:
        chunks = split_text(_with_sources(message), TEXT_LIMIT)
        buttons = message.get("buttons") or []
        if not buttons:
            bodies += [_text(wa_id, chunk) for chunk in chunks]
            continue
        prompt = CHOOSE_TEXT
        if chunks:
            head, tail = _last_paragraphs(chunks.pop(), INTERACTIVE_BODY_LIMIT)
            chunks += [head] if head else []
            prompt = tail or prompt
        bodies += [_text(wa_id, chunk) for chunk in chunks]
        bodies.append(_interactive(wa_id, prompt, buttons))
    return bodies


def _last_paragraphs(text: str, limit: int) -> tuple[str, str]:
    """(head, tail): ``tail`` the last whole paragraphs of ``text`` that fit in ``limit``
    (the body of the buttons), ``head`` the rest; tail is empty when even the last
    paragraph is longer (then the buttons come with a short prompt)."""
    paragraphs = re.split(r"\n[ \t]*\n", text)
    kept: list[str] = []
    while paragraphs and len("\n\n".join([paragraphs[-1], *kept])) <= limit:
        kept.insert(0, paragraphs.pop())
    return "\n\n".join(paragraphs).strip(), "\n\n".join(kept).strip()


def _with_sources(message: dict[str, Any]) -> str:
    text = str(message.get("text") or "")
    link = link_of(message)
    if link is not None:
        text = f"{text}\n\n{link[0]}: {link[1]}"
    sources = sources_of(message)
    if not sources:
        return text
    lines = [f"• {title}: {url}" if url else f"• {title}" for title, url in sources]
    return f"{text}\n\n*{SOURCES_HEADING}*\n" + "\n".join(lines)


def _text(wa_id: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
            "type": "text", "text": {"body": body, "preview_url": False}}


def _interactive(wa_id: str, prompt: str, buttons: list[dict[str, str]]) -> dict[str, Any]:
    titles = [b["title"] for b in buttons]
    if len(buttons) <= REPLY_BUTTONS:
        action: dict[str, Any] = {"buttons": [
            {"type": "reply",
             "reply": {"id": encode_payload(b["payload"], BUTTON_DATA_BYTES), "title": t}}
            for b, t in zip(buttons, unique_titles(titles, BUTTON_TITLE), strict=True)]}
        kind = "button"
    else:
        if len(buttons) > LIST_ROWS:
            logger.info("WhatsApp list: %d buttons, the first %d kept", len(buttons), LIST_ROWS)
        kept = buttons[:LIST_ROWS]
        rows = []
        for button, title in zip(kept, unique_titles(titles[:LIST_ROWS], ROW_TITLE),
                                 strict=True):
            row = {"id": encode_payload(button["payload"], BUTTON_DATA_BYTES), "title": title}
            if title != button["title"]:
                row["description"] = truncate_title(button["title"], ROW_DESCRIPTION)
            rows.append(row)
        action = {"button": LIST_BUTTON, "sections": [{"title": LIST_SECTION, "rows": rows}]}
        kind = "list"
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
            "type": "interactive",
            "interactive": {"type": kind, "body": {"text": prompt}, "action": action}}


# --- The webhook ------------------------------------------------------------------------

def whatsapp_router() -> APIRouter:
    router = APIRouter()

    @router.get("/webhooks/whatsapp", response_class=PlainTextResponse,
                summary="Verificação do webhook do WhatsApp (hub.challenge).")
    async def whatsapp_verify(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        assert settings.whatsapp_verify_token is not None
        params = request.query_params
        token = params.get("hub.verify_token", "")
        expected = settings.whatsapp_verify_token.get_secret_value()
        if (params.get("hub.mode") == "subscribe" and params.get("hub.challenge")
                and hmac.compare_digest(token.encode(), expected.encode())):
            return PlainTextResponse(params["hub.challenge"])
        logger.warning("WhatsApp webhook verification refused")
        return channel_error(403, "forbidden", "Verificação do webhook recusada.")

    @router.post("/webhooks/whatsapp", summary="Webhook do WhatsApp (mensagens e status).",
                 description="Exige X-Hub-Signature-256; responde 200 de imediato e "
                 "responde ao gestor em segundo plano.")
    async def whatsapp_webhook(request: Request) -> JSONResponse:
        settings: Settings = request.app.state.settings
        assert settings.whatsapp_app_secret is not None
        signature = request.headers.get(SIGNATURE_HEADER)
        if signature is None:
            return channel_error(401, "unauthorized", "Assinatura do WhatsApp ausente.")
        body = await request.body()
        if not valid_signature(settings.whatsapp_app_secret.get_secret_value(), body,
                               signature):
            logger.warning("WhatsApp webhook with a wrong signature refused")
            return channel_error(403, "forbidden", "Assinatura do WhatsApp inválida.")
        return await accept_body(request, body, PLATFORM, parse_notification)

    return router
