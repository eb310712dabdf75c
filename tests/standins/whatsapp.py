"""A stand-in of the WhatsApp Cloud API on the Graph API
(``POST /<version>/<phone-number-id>/messages``): bearer token check, the limits the real
API enforces on what Iara sends, and the real response and error shapes; plus webhook
notifications as Meta sends them, signed like Meta signs them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.standins.server import Call, Recorder

WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"


def graph_error(status: int, code: int, message: str, details: str = "") -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "AazZ1tESTtrace"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return JSONResponse({"error": error}, status_code=status)


def check_message(body: dict[str, Any]) -> str | None:
    """What the real API would refuse in ``body`` (its ``details``), or None."""
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not body.get("to"):
        return "to is required"
    kind = body.get("type", "text")
    if kind == "text":
        text = (body.get("text") or {}).get("body")
        if not isinstance(text, str) or not 1 <= len(text) <= 4096:
            return "text.body must have 1 to 4096 characters"
        return None
    if kind != "interactive":
        return f"type {kind} not supported by this stand-in"
    interactive = body.get("interactive") or {}
    text = (interactive.get("body") or {}).get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= 1024:
        return "interactive.body.text must have 1 to 1024 characters"
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            return "buttons must have 1 to 3 items"
        replies = [b.get("reply") or {} for b in buttons]
        return _check_options(replies, id_limit=256, title_limit=20)
    if interactive.get("type") == "list":
        if not 1 <= len(action.get("button") or "") <= 20:
            return "action.button must have 1 to 20 characters"
        sections = action.get("sections") or []
        if not 1 <= len(sections) <= 10:
            return "sections must have 1 to 10 items"
        rows = [row for section in sections for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10:
            return "a list has 1 to 10 rows in all"
        if any(len(s.get("title") or "") > 24 for s in sections):
            return "section title longer than 24 characters"
        if any(len(r.get("description") or "") > 72 for r in rows):
            return "row description longer than 72 characters"
        return _check_options(rows, id_limit=200, title_limit=24)
    return "interactive.type not supported by this stand-in"


def _check_options(options: list[dict[str, Any]], *, id_limit: int,
                   title_limit: int) -> str | None:
    ids = [o.get("id") or "" for o in options]
    titles = [o.get("title") or "" for o in options]
    if any(not 1 <= len(i) <= id_limit for i in ids) or len(set(ids)) != len(ids):
        return f"ids must be unique, 1 to {id_limit} characters"
    if any(not 1 <= len(t) <= title_limit for t in titles) or len(set(titles)) != len(titles):
        return f"titles must be unique, 1 to {title_limit} characters"
    return None


class WhatsAppStandIn:
    def __init__(self, access_token: str, phone_number_id: str, version: str) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.version = version
        self.recorder = Recorder()
        self.url = ""  # set once it serves
        self._ids = itertools.count(1)
        self.app = FastAPI()
        self.app.post("/{version}/{phone_number_id}/messages")(self._endpoint)

    def sent(self, wa_id: str | None = None) -> list[Call]:
        """Messages accepted for delivery (to ``wa_id``); read receipts excluded."""
        return self.recorder.calls(lambda c: c.status == 200 and "to" in c.body
                                   and (wa_id is None or c.body["to"] == wa_id))

    async def _endpoint(self, version: str, phone_number_id: str,
                        request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        response = self._answer(version, phone_number_id, request, body)
        self.recorder.add(Call("messages", body, dict(request.headers), response.status_code))
        return response

    def _answer(self, version: str, phone_number_id: str, request: Request,
                body: dict[str, Any]) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse "
                               "access token")
        if version != self.version or phone_number_id != self.phone_number_id:
            return graph_error(400, 100, f"Unsupported post request. Object with ID "
                               f"'{phone_number_id}' does not exist")
        if body.get("status") == "read":
            return JSONResponse({"success": True})
        failure = self.recorder.take_failure()
        if failure is not None:
            status, payload, headers = failure
            return JSONResponse(payload, status_code=status, headers=headers)
        problem = check_message(body)
        if problem:
            return graph_error(400, 100, "(#100) Invalid parameter", problem)
        return JSONResponse({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": f"wamid.TEST{next(self._ids):012d}"}]})


# --- Webhook notifications as Meta sends them --------------------------------------------

def notification(value: dict[str, Any], phone_number_id: str) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [
        {"value": {"messaging_product": "whatsapp",
                   "metadata": {"display_phone_number": DISPLAY_NUMBER,
                                "phone_number_id": phone_number_id}, **value},
         "field": "messages"}]}]}


def inbound_message(message_id: str, wa_id: str, kind: str, content: dict[str, Any],
                    phone_number_id: str) -> dict[str, Any]:
    return notification({
        "contacts": [{"profile": {"name": "Gestora"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": message_id, "timestamp": str(int(time.time())),
                      "type": kind, kind: content}]}, phone_number_id)


def text_message(message_id: str, wa_id: str, text: str,
                 phone_number_id: str) -> dict[str, Any]:
    return inbound_message(message_id, wa_id, "text", {"body": text}, phone_number_id)


def button_reply(message_id: str, wa_id: str, button_id: str, title: str,
                 phone_number_id: str, kind: str = "button_reply") -> dict[str, Any]:
    reply = {"id": button_id, "title": title}
    payload = inbound_message(message_id, wa_id, "interactive",
                              {"type": kind, kind: reply}, phone_number_id)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["context"] = {"from": DISPLAY_NUMBER, "id": "wamid.CONTEXT"}
    return payload


def status_update(message_id: str, wa_id: str, status: str,
                  phone_number_id: str) -> dict[str, Any]:
    return notification({"statuses": [{
        "id": message_id, "status": status, "timestamp": str(int(time.time())),
        "recipient_id": wa_id,
        "conversation": {"id": "f5fdae3920125a39a1e6a23e5f877c16",
                         "origin": {"type": "service"}},
        "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}}]},
        phone_number_id)


def signed(payload: Any, app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a notification, signed as Meta signs it."""
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return raw, signature_headers(raw, app_secret)


def signature_headers(raw: bytes, app_secret: str) -> dict[str, str]:
    signature = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
