"""Telegram and WhatsApp through the real running stack (engine + action server + API):
real platform payloads in, the platform calls the stand-ins received out."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.channels import store
from api.channels.common import UNSUPPORTED_TEXT, payload_ref
from iara.db import ChannelUpdate, Database, Delivery, Feedback
from iara.stack import Stack
from tests.standins import (
    TELEGRAM_SECRET,
    WHATSAPP_APP_SECRET,
    WHATSAPP_PHONE_NUMBER_ID,
    WHATSAPP_VERIFY_TOKEN,
)
from tests.standins.server import Call
from tests.standins.telegram import (
    PHOTO,
    STICKER,
    TelegramStandIn,
    callback_update,
    edited_update,
    message_update,
    visible_html,
)
from tests.standins.whatsapp import (
    WhatsAppStandIn,
    button_reply,
    check_message,
    signature_headers,
    signed,
    status_update,
    text_message,
)

pytestmark = pytest.mark.stack

RREO_QUESTION = "qual o prazo para enviar o RREO ao Siconfi?"
_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)


def new_id() -> int:
    return next(_ids)


def db_rows(stack: Stack, model: Any, *where: Any) -> list[Any]:
    db = Database(stack.settings.database_url)
    try:
        with db.session() as session:
            return list(session.scalars(select(model).where(*where)))
    finally:
        db.dispose()


# --- Telegram -----------------------------------------------------------------------------

def post_telegram(stack: Stack, update: object, secret: str | None = TELEGRAM_SECRET,
                  ) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    return httpx.post(f"{stack.settings.api_base_url}/webhooks/telegram", json=update,
                      headers=headers, timeout=30)


def telegram_messages(standin: TelegramStandIn, chat_id: int, count: int = 1,
                      timeout: float = 90) -> list[Call]:
    return standin.recorder.wait_for(
        lambda c: c.method == "sendMessage" and c.status == 200
        and c.body.get("chat_id") == chat_id, count=count, timeout=timeout)


def telegram_message_with(standin: TelegramStandIn, chat_id: int, needle: str) -> Call:
    """The first message to ``chat_id`` whose text contains ``needle`` (an answer may come
    with more messages, e.g. the learning-path offer, in any timing)."""
    found = standin.recorder.wait_for(
        lambda c: c.method == "sendMessage" and c.status == 200
        and c.body.get("chat_id") == chat_id and needle in c.body["text"])
    assert found, f"no message with {needle!r}"
    return found[0]


def keyboard(call: Call) -> list[dict[str, str]]:
    rows = (call.body.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]


def test_telegram_question_gets_a_cited_answer_with_feedback_buttons(
        stack: Stack, telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    started = time.monotonic()
    response = post_telegram(stack, message_update(new_id(), chat_id, RREO_QUESTION))
    assert response.status_code == 200 and time.monotonic() - started < 5
    answer = telegram_message_with(telegram_standin, chat_id, "30 dias")
    assert answer.body["parse_mode"] == "HTML"
    shown = visible_html(answer.body["text"])
    assert "bimestre" in shown and "\n\nFontes\n• " in shown
    assert '/conteudos/item-3.2.2#prazos-e-validade">' in answer.body["text"]
    assert '<a href="https://' in answer.body["text"]  # the official sources too
    assert [b["text"] for b in keyboard(answer)][:2] == ["👍 Útil", "👎 Não útil"]
    assert telegram_standin.recorder.calls(
        lambda c: c.method == "sendChatAction" and c.body["chat_id"] == chat_id)
    # The engine knows the conversation by its channel prefix.
    token = stack.settings.rasa_token.get_secret_value()  # type: ignore[union-attr]
    tracker = httpx.get(f"{str(stack.settings.rasa_url).rstrip('/')}/conversations/"
                        f"telegram:{chat_id}/tracker", params={"token": token},
                        timeout=30).json()
    assert RREO_QUESTION in [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def test_telegram_greeting_offers_an_inline_keyboard_that_works(
        stack: Stack, telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    post_telegram(stack, message_update(new_id(), chat_id, "/start"))
    [greeting] = telegram_messages(telegram_standin, chat_id)
    assert "Iara" in greeting.body["text"]
    buttons = {b["text"]: b["callback_data"] for b in keyboard(greeting)}
    assert buttons["O que é o CAUC?"] == "p:o que é o CAUC?"
    update_id = new_id()
    post_telegram(stack, callback_update(update_id, chat_id, buttons["O que é o CAUC?"]))
    answer = telegram_message_with(telegram_standin, chat_id, "Fontes")
    assert "CAUC" in answer.body["text"] and answer is not greeting
    assert telegram_standin.recorder.calls(
        lambda c: c.method == "answerCallbackQuery"
        and c.body["callback_query_id"] == f"cbq-{update_id}")


def test_telegram_feedback_button_is_recorded_for_the_channel(
        stack: Stack, telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    post_telegram(stack, message_update(new_id(), chat_id, RREO_QUESTION))
    answer = telegram_message_with(telegram_standin, chat_id, "30 dias")
    useful = next(b for b in keyboard(answer) if b["text"] == "👍 Útil")
    post_telegram(stack, callback_update(new_id(), chat_id, useful["callback_data"]))
    telegram_message_with(telegram_standin, chat_id, "Obrigada pela avaliação")
    [feedback] = db_rows(stack, Feedback, Feedback.sender == f"telegram:{chat_id}")
    assert (feedback.channel, feedback.value) == ("telegram", "util")


def test_telegram_long_button_payload_travels_by_reference(
        stack: Stack, telegram_standin: TelegramStandIn) -> None:
    question = "qual o prazo para enviar o RREO ao Siconfi e o que acontece se eu atrasar?"
    ref = payload_ref(question)
    assert len(question.encode()) > 64
    db = Database(stack.settings.database_url)
    try:
        store.save_refs(db, "telegram", {ref: question})  # as rendering a button would
    finally:
        db.dispose()
    chat_id = new_id()
    post_telegram(stack, callback_update(new_id(), chat_id, ref))
    telegram_message_with(telegram_standin, chat_id, "30 dias")


def test_telegram_edited_message_is_answered_as_a_new_question(
        stack: Stack, telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    post_telegram(stack, edited_update(new_id(), chat_id, RREO_QUESTION))
    telegram_message_with(telegram_standin, chat_id, "30 dias")


@pytest.mark.parametrize("content", [{"sticker": STICKER}, {"photo": PHOTO},
                                     {"voice": {"file_id": "AwAC", "file_unique_id": "AgAD",
                                                "duration": 3, "mime_type": "audio/ogg"}}])
def test_telegram_non_text_gets_a_polite_text_only_reply(
        stack: Stack, telegram_standin: TelegramStandIn, content: dict[str, Any]) -> None:
    chat_id = new_id()
    post_telegram(stack, message_update(new_id(), chat_id, **content))
    [reply] = telegram_messages(telegram_standin, chat_id)
    assert reply.body["text"] == UNSUPPORTED_TEXT


def test_telegram_retried_update_gets_exactly_one_answer(
        stack: Stack, telegram_standin: TelegramStandIn) -> None:
    chat_id, update_id = new_id(), new_id()
    update = message_update(update_id, chat_id, "oi")
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(
        post_telegram(stack, update).status_code)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200]
    telegram_messages(telegram_standin, chat_id)
    assert post_telegram(stack, update).status_code == 200  # Telegram retrying later
    time.sleep(3)
    assert len(telegram_messages(telegram_standin, chat_id, timeout=0)) == 1
    [row] = db_rows(stack, ChannelUpdate, ChannelUpdate.update_id == str(update_id))
    assert row.status == "done"
    [sent] = db_rows(stack, Delivery, Delivery.key == f"telegram:{update_id}:0")
    assert (sent.status, sent.attempts, sent.recipient) == ("sent", 1, str(chat_id))


def test_telegram_secret_is_required(stack: Stack,
                                     telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    assert post_telegram(stack, message_update(new_id(), chat_id, "oi"),
                         secret=None).status_code == 401
    assert post_telegram(stack, message_update(new_id(), chat_id, "oi"),
                         secret="forged").status_code == 403
    bad = httpx.post(f"{stack.settings.api_base_url}/webhooks/telegram", content=b"{oops",
                     headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                              "Content-Type": "application/json"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_json"
    assert "Traceback" not in bad.text
    time.sleep(1)
    assert telegram_standin.recorder.calls(lambda c: c.body.get("chat_id") == chat_id) == []


# --- WhatsApp -----------------------------------------------------------------------------

def post_whatsapp(stack: Stack, payload: dict[str, Any]) -> httpx.Response:
    raw, headers = signed(payload, WHATSAPP_APP_SECRET)
    return httpx.post(f"{stack.settings.api_base_url}/webhooks/whatsapp", content=raw,
                      headers=headers, timeout=30)


def whatsapp_messages(standin: WhatsAppStandIn, wa_id: str, count: int = 1,
                      timeout: float = 90) -> list[Call]:
    return standin.recorder.wait_for(
        lambda c: c.status == 200 and c.body.get("to") == wa_id, count=count, timeout=timeout)


def shown(call: Call) -> str:
    body = call.body
    return body["text"]["body"] if body["type"] == "text" \
        else body["interactive"]["body"]["text"]


def whatsapp_message_with(standin: WhatsAppStandIn, wa_id: str, needle: str) -> Call:
    """The first message to ``wa_id`` showing ``needle``."""
    found = standin.recorder.wait_for(
        lambda c: c.status == 200 and c.body.get("to") == wa_id and needle in shown(c))
    assert found, f"no message with {needle!r}"
    return found[0]


def test_whatsapp_verification_handshake(stack: Stack) -> None:
    url = f"{stack.settings.api_base_url}/webhooks/whatsapp"
    ok = httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": "8837361",
                                "hub.verify_token": WHATSAPP_VERIFY_TOKEN}, timeout=10)
    assert (ok.status_code, ok.text) == (200, "8837361")
    refused = httpx.get(url, params={"hub.mode": "subscribe", "hub.challenge": "1",
                                     "hub.verify_token": "wrong"}, timeout=10)
    assert refused.status_code == 403


def test_whatsapp_question_gets_a_cited_answer_with_reply_buttons(
        stack: Stack, whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id = f"5561{new_id()}"
    message_id = f"wamid.Q{new_id()}"
    assert post_whatsapp(stack, text_message(message_id, wa_id, RREO_QUESTION,
                                             WHATSAPP_PHONE_NUMBER_ID)).status_code == 200
    whatsapp_message_with(whatsapp_standin, wa_id, "30 dias")
    sources = whatsapp_message_with(whatsapp_standin, wa_id, "*Fontes*")
    assert "/conteudos/item-3.2.2#prazos-e-validade" in shown(sources)
    # The answer's last paragraphs that fit an interactive body carry its buttons.
    buttons = whatsapp_standin.recorder.wait_for(
        lambda c: c.body.get("to") == wa_id and c.body.get("type") == "interactive")[0].body
    assert check_message(buttons) is None and buttons["interactive"]["type"] == "button"
    assert [b["reply"]["title"] for b in buttons["interactive"]["action"]["buttons"]][:2] == [
        "👍 Útil", "👎 Não útil"]
    calls = whatsapp_messages(whatsapp_standin, wa_id)
    assert all(check_message(c.body) is None for c in calls)
    read = whatsapp_standin.recorder.calls(lambda c: c.body.get("message_id") == message_id)
    assert [c.body.get("status") for c in read] == ["read"]


def whatsapp_greeting(stack: Stack, standin: WhatsAppStandIn, wa_id: str) -> dict[str, str]:
    """Say "oi"; the greeting's reply buttons, {title: id}."""
    post_whatsapp(stack, text_message(f"wamid.G{new_id()}", wa_id, "oi",
                                      WHATSAPP_PHONE_NUMBER_ID))
    [greeting] = whatsapp_messages(standin, wa_id)
    assert check_message(greeting.body) is None
    interactive = greeting.body["interactive"]
    assert interactive["type"] == "button" and "Iara" in interactive["body"]["text"]
    return {b["reply"]["title"]: b["reply"]["id"] for b in interactive["action"]["buttons"]}


def test_whatsapp_greeting_offers_reply_buttons_that_work(
        stack: Stack, whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id = f"5561{new_id()}"
    replies = whatsapp_greeting(stack, whatsapp_standin, wa_id)
    assert next(iter(replies)) == "O que é o CAUC?" and len(replies) == 3
    post_whatsapp(stack, button_reply(f"wamid.B{new_id()}", wa_id, replies["O que é o CAUC?"],
                                      "O que é o CAUC?", WHATSAPP_PHONE_NUMBER_ID))
    whatsapp_message_with(whatsapp_standin, wa_id, "*Fontes*")


def test_whatsapp_more_than_three_options_come_as_a_list(
        stack: Stack, whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id = f"5561{new_id()}"
    replies = whatsapp_greeting(stack, whatsapp_standin, wa_id)
    # "Tenho uma pendência" asks back which item, offering five: a list message.
    post_whatsapp(stack, button_reply(f"wamid.B{new_id()}", wa_id,
                                      replies["Tenho uma pendência"], "Tenho uma pendência",
                                      WHATSAPP_PHONE_NUMBER_ID))
    ask = whatsapp_messages(whatsapp_standin, wa_id, count=2)[1].body
    assert check_message(ask) is None
    assert ask["interactive"]["type"] == "list"
    rows = ask["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) > 3 and "Outro item" in [r["title"] for r in rows]
    # Choosing a row answers about that item, with its sources.
    post_whatsapp(stack, button_reply(f"wamid.L{new_id()}", wa_id, rows[0]["id"],
                                      rows[0]["title"], WHATSAPP_PHONE_NUMBER_ID,
                                      kind="list_reply"))
    answer = whatsapp_message_with(whatsapp_standin, wa_id, "*Fontes*")
    assert rows[0]["title"].split()[0] in shown(answer)  # about the item chosen


def test_whatsapp_statuses_are_ignored(stack: Stack,
                                       whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id = f"5561{new_id()}"
    for status in ("sent", "delivered", "read"):
        response = post_whatsapp(stack, status_update(f"wamid.OUT{new_id()}", wa_id, status,
                                                      WHATSAPP_PHONE_NUMBER_ID))
        assert response.status_code == 200
    time.sleep(1)
    assert whatsapp_standin.recorder.calls(lambda c: c.body.get("to") == wa_id) == []


def test_whatsapp_duplicate_message_id_gets_exactly_one_answer(
        stack: Stack, whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id, message_id = f"5561{new_id()}", f"wamid.D{new_id()}"
    payload = text_message(message_id, wa_id, "oi", WHATSAPP_PHONE_NUMBER_ID)
    assert [post_whatsapp(stack, payload).status_code for _ in range(3)] == [200] * 3
    whatsapp_messages(whatsapp_standin, wa_id)
    time.sleep(3)
    assert len(whatsapp_messages(whatsapp_standin, wa_id, timeout=0)) == 1
    assert [u.sender for u in db_rows(stack, ChannelUpdate,
                                      ChannelUpdate.update_id == message_id)] == [
        f"whatsapp:{wa_id}"]


def test_whatsapp_bad_signature_is_refused(stack: Stack,
                                           whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id = f"5561{new_id()}"
    raw = signed(text_message(f"wamid.X{new_id()}", wa_id, "oi", WHATSAPP_PHONE_NUMBER_ID),
                 WHATSAPP_APP_SECRET)[0]
    url = f"{stack.settings.api_base_url}/webhooks/whatsapp"
    forged = httpx.post(url, content=raw, headers=signature_headers(raw, "guessed-secret"),
                        timeout=10)
    missing = httpx.post(url, content=raw, headers={"Content-Type": "application/json"},
                         timeout=10)
    assert (forged.status_code, missing.status_code) == (403, 401)
    time.sleep(1)
    assert whatsapp_standin.recorder.calls(lambda c: c.body.get("to") == wa_id) == []
