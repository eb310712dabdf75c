"""A stand-in of the Telegram Bot API (https://core.telegram.org/bots/api): the methods
Iara calls, with the real envelopes (``{"ok": true, "result": ...}`` /
``{"ok": false, "error_code", "description"}``) and the checks the real API makes on
what Iara sends (text length after entity parsing, HTML entities, callback_data size)."""

from __future__ import annotations

import html
import itertools
import re
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.standins.server import Call, Recorder

BOT = {"id": 7000000001, "is_bot": True, "first_name": "Iara", "username": "IaraTesteBot"}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code",
                "pre", "span", "tg-spoiler", "blockquote"}
TAG = re.compile(r'<(/?)([a-z-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>')
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def error(status: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def visible_html(text: str) -> str:
    """The text Telegram shows for an HTML-mode message; ValueError like "can't parse
    entities" when the markup is not valid Bot API HTML."""
    stack: list[str] = []
    out, position = [], 0
    for match in TAG.finditer(text):
        out.append(text[position:match.start()])
        position = match.end()
        closing, name = match.group(1), match.group(2)
        if name not in ALLOWED_TAGS:
            raise ValueError(f'Unsupported start tag "{name}"')
        if closing:
            if not stack or stack.pop() != name:
                raise ValueError(f'Unmatched end tag "{name}"')
        else:
            stack.append(name)
    out.append(text[position:])
    if stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    plain = "".join(out)
    if "<" in plain or ">" in plain:
        raise ValueError("Unsupported start tag or unescaped '<'")
    for amp in re.finditer("&", plain):
        if not ENTITY.match(plain, amp.start()):
            raise ValueError("Unsupported HTML entity / unescaped '&'")
    return html.unescape(plain)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.recorder = Recorder()
        self.url = ""  # set once it serves
        self._message_ids = itertools.count(100)
        self.app = FastAPI()
        self.app.post("/bot{token}/{method}")(self._endpoint)

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls (to ``chat_id``)."""
        return self.recorder.calls(lambda c: c.method == "sendMessage" and c.status == 200
                                   and (chat_id is None or c.body.get("chat_id") == chat_id))

    async def _endpoint(self, token: str, method: str, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        response = self._answer(token, method, body if isinstance(body, dict) else {})
        self.recorder.add(Call(method, body, dict(request.headers), response.status_code))
        return response

    def _answer(self, token: str, method: str, body: dict[str, Any]) -> JSONResponse:
        if token != self.token:
            return error(401, "Unauthorized")
        if method == "answerCallbackQuery":
            if not body.get("callback_query_id"):
                return error(400, "Bad Request: query is too old and response timeout "
                             "expired or query ID is invalid")
            return JSONResponse({"ok": True, "result": True})
        if method == "sendChatAction":
            return JSONResponse({"ok": True, "result": True})
        if method != "sendMessage":
            return error(404, "Not Found")
        failure = self.recorder.take_failure()
        if failure is not None:
            status, payload, headers = failure
            return JSONResponse(payload, status_code=status, headers=headers)
        return self._send_message(body)

    def _send_message(self, body: dict[str, Any]) -> JSONResponse:
        chat_id, text = body.get("chat_id"), body.get("text")
        if chat_id is None:
            return error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return error(400, "Bad Request: message text is empty")
        if body.get("parse_mode") == "HTML":
            try:
                text = visible_html(text)
            except ValueError as exc:
                return error(400, f"Bad Request: can't parse entities: {exc}")
        if utf16_len(text) > 4096:
            return error(400, "Bad Request: message is too long")
        markup = body.get("reply_markup")
        if markup is not None:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data", "")
                    if not button.get("text") or not 1 <= len(data.encode()) <= 64:
                        return error(400, "Bad Request: BUTTON_DATA_INVALID")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "from": BOT,
            "chat": {"id": chat_id, "first_name": "Gestor", "type": "private"},
            "date": int(time.time()), "text": text}
        if markup is not None:
            message["reply_markup"] = markup
        return JSONResponse({"ok": True, "result": message})


# --- Updates as Telegram sends them -----------------------------------------------------

USER = {"id": 5550001, "is_bot": False, "first_name": "Gestora", "language_code": "pt-br"}


def chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "first_name": "Gestora", "type": "private"}


def message_update(update_id: int, chat_id: int, text: str | None = None,
                   **content: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": update_id, "from": {**USER, "id": chat_id},
                               "chat": chat(chat_id), "date": int(time.time())}
    if text is not None:
        message["text"] = text
    message.update(content)
    return {"update_id": update_id, "message": message}


def edited_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    update = message_update(update_id, chat_id, text)
    message = update.pop("message")
    message["edit_date"] = message["date"] + 5
    return {"update_id": update_id, "edited_message": message}


def callback_update(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": f"cbq-{update_id}", "from": {**USER, "id": chat_id},
        "message": {"message_id": 99, "from": BOT, "chat": chat(chat_id),
                    "date": int(time.time()), "text": "..."},
        "chat_instance": "-123456789", "data": data}}


STICKER = {"file_id": "CAACAgIAAxkBAAIB", "file_unique_id": "AgADAgAD", "type": "regular",
           "width": 512, "height": 512, "is_animated": False, "is_video": False,
           "emoji": "👍"}
PHOTO = [{"file_id": "AgACAgEAAxkBAAIC", "file_unique_id": "AQADsm", "width": 90,
          "height": 67, "file_size": 1200},
         {"file_id": "AgACAgEAAxkBAAID", "file_unique_id": "AQADsn", "width": 800,
          "height": 600, "file_size": 52000}]
