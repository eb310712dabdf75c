"""The webhooks through the API app (TestClient) with the real app database and the
platform stand-ins, the engine down (closed port): verification, 404 when off, bad
input, dedup, "só entendo texto", and deliveries (retries, failures, never twice)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.channels import store
from api.channels.common import ENGINE_DOWN_TEXT, EXPIRED_BUTTON_TEXT, UNSUPPORTED_TEXT
from api.channels.delivery import RetryPolicy, deliver
from api.channels.telegram import TelegramChannel
from iara.db import ChannelUpdate, Database, Delivery
from iara.settings import Settings
from tests.standins import (
    TELEGRAM_SECRET,
    WHATSAPP_APP_SECRET,
    WHATSAPP_PHONE_NUMBER_ID,
    WHATSAPP_VERIFY_TOKEN,
    channel_settings,
)
from tests.standins.telegram import (
    STICKER,
    TelegramStandIn,
    callback_update,
    edited_update,
    message_update,
)
from tests.standins.whatsapp import (
    WhatsAppStandIn,
    inbound_message,
    signature_headers,
    signed,
    status_update,
    text_message,
)

SECRET = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
ENGINE_DOWN = {"rasa_url": "http://127.0.0.1:9", "actions_url": "http://127.0.0.1:9",
               "engine_timeout_s": 2}
_ids = itertools.count(9_000_000)


def new_id() -> int:
    """Ids unique in the session (the stand-ins are shared by every test)."""
    return next(_ids)


@pytest.fixture
def settings(tmp_path: Path, telegram_standin: TelegramStandIn,
             whatsapp_standin: WhatsAppStandIn) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'iara.db'}",
                    index_dir=tmp_path / "no-index", **ENGINE_DOWN,  # type: ignore[arg-type]
                    **channel_settings(telegram_standin.url, whatsapp_standin.url))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def updates(settings: Settings) -> list[ChannelUpdate]:
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            return list(session.scalars(select(ChannelUpdate).order_by(ChannelUpdate.id)))
    finally:
        db.dispose()


def settled_updates(settings: Settings, timeout: float = 20.0) -> list[ChannelUpdate]:
    """The updates once none is still 'received': the reply is sent before the update's
    status is written, so a test that saw the reply may read the row a moment early."""
    deadline = time.monotonic() + timeout
    while True:
        rows = updates(settings)
        if all(r.status != "received" for r in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def delivery(settings: Settings, key: str) -> Delivery | None:
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            return session.scalars(select(Delivery).where(Delivery.key == key)).first()
    finally:
        db.dispose()


def texts(calls: list) -> list[str]:
    return [c.body["text"] if "text" in c.body and isinstance(c.body["text"], str)
            else c.body.get("text", {}).get("body") for c in calls]


# --- Off when unconfigured --------------------------------------------------------------

def test_unconfigured_channels_answer_404(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'iara.db'}", **ENGINE_DOWN)
    assert not settings.telegram_enabled and not settings.whatsapp_enabled
    with TestClient(create_app(settings)) as client:
        for method, path in (("POST", "/webhooks/telegram"), ("GET", "/webhooks/whatsapp"),
                             ("POST", "/webhooks/whatsapp")):
            response = client.request(method, path, json={}, headers=SECRET)
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_found"
    assert not (tmp_path / "iara.db").exists()  # no channel, no database work


def test_half_configured_channel_stops_start_up() -> None:
    with pytest.raises(ValueError, match="IARA_WHATSAPP_ACCESS_TOKEN"):
        Settings(whatsapp_verify_token="v", whatsapp_app_secret="s",
                 whatsapp_phone_number_id="1")


# --- Telegram -----------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, 403),
    ({"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET + "x"}, 403)])
def test_telegram_refuses_a_missing_or_wrong_secret(client: TestClient, settings: Settings,
                                                    headers: dict[str, str],
                                                    status: int) -> None:
    response = client.post("/webhooks/telegram", json=message_update(new_id(), 1, "oi"),
                           headers=headers)
    assert response.status_code == status
    assert set(response.json()) == {"error", "message", "details"}
    assert updates(settings) == []


def test_telegram_malformed_json_is_a_400_without_a_trace(client: TestClient) -> None:
    response = client.post("/webhooks/telegram", content=b'{"update_id": 1, "message": ',
                           headers={**SECRET, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_json", "details": [],
                               "message": "O corpo da requisição não é um JSON válido."}


@pytest.mark.parametrize("body", [
    {"update_id": 5, "my_chat_member": {"chat": {"id": 1}}}, {"update_id": 6}, [1, 2],
    {"message": {"text": "sem update_id"}}, "texto", 42])
def test_telegram_unknown_shapes_are_acknowledged_and_ignored(
        client: TestClient, settings: Settings, body: object) -> None:
    response = client.post("/webhooks/telegram", json=body, headers=SECRET)
    assert response.status_code == 200
    assert updates(settings) == []


def test_telegram_retry_of_an_update_is_answered_once(
        client: TestClient, settings: Settings, telegram_standin: TelegramStandIn) -> None:
    chat_id, update_id = new_id(), new_id()
    update = message_update(update_id, chat_id, "qual o prazo do RREO?")
    for _ in range(3):
        assert client.post("/webhooks/telegram", json=update, headers=SECRET).status_code == 200
    telegram_standin.recorder.wait_for(
        lambda c: c.method == "sendMessage" and c.body["chat_id"] == chat_id, timeout=20)
    client.post("/webhooks/telegram", json=update, headers=SECRET)  # a late retry too
    assert texts(telegram_standin.sent(chat_id)) == [ENGINE_DOWN_TEXT]
    [row] = settled_updates(settings)
    assert (row.platform, row.update_id, row.sender) == (
        "telegram", str(update_id), f"telegram:{chat_id}")
    assert row.status == "failed"  # the engine was down: recorded for a look later
    sent = delivery(settings, f"telegram:{update_id}:0")
    assert sent is not None and (sent.status, sent.attempts) == ("sent", 1)


def test_telegram_sticker_gets_the_text_only_reply(
        client: TestClient, telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    client.post("/webhooks/telegram", json=message_update(new_id(), chat_id, sticker=STICKER),
                headers=SECRET)
    [call] = telegram_standin.recorder.wait_for(
        lambda c: c.method == "sendMessage" and c.body["chat_id"] == chat_id, timeout=20)
    assert call.body["text"] == UNSUPPORTED_TEXT  # the engine (down) was not asked


def test_telegram_edited_message_is_answered_as_a_new_message(
        client: TestClient, telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    client.post("/webhooks/telegram", json=edited_update(new_id(), chat_id, "prazo do RGF?"),
                headers=SECRET)
    calls = telegram_standin.recorder.wait_for(
        lambda c: c.method == "sendMessage" and c.body["chat_id"] == chat_id, timeout=20)
    assert texts(calls) == [ENGINE_DOWN_TEXT]
    assert telegram_standin.recorder.calls(
        lambda c: c.method == "sendChatAction" and c.body["chat_id"] == chat_id)


def test_telegram_button_with_a_forgotten_reference(
        client: TestClient, telegram_standin: TelegramStandIn) -> None:
    chat_id, update_id = new_id(), new_id()
    client.post("/webhooks/telegram", json=callback_update(update_id, chat_id, "r:" + "0" * 32),
                headers=SECRET)
    calls = telegram_standin.recorder.wait_for(
        lambda c: c.method == "sendMessage" and c.body["chat_id"] == chat_id, timeout=20)
    assert texts(calls) == [EXPIRED_BUTTON_TEXT]
    [answered] = telegram_standin.recorder.calls(
        lambda c: c.method == "answerCallbackQuery"
        and c.body["callback_query_id"] == f"cbq-{update_id}")
    assert answered.status == 200


def test_button_references_are_stored_once_and_resolved(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        refs = {"r:" + "a" * 32: "uma pergunta longa", "r:" + "b" * 32: "outra"}
        store.save_refs(db, "telegram", refs)
        store.save_refs(db, "telegram", refs)  # idempotent
        assert store.resolve_ref(db, "telegram", "r:" + "a" * 32) == "uma pergunta longa"
        assert store.resolve_ref(db, "whatsapp", "r:" + "a" * 32) is None
        assert store.resolve_ref(db, "telegram", "r:" + "c" * 32) is None
    finally:
        db.dispose()


# --- Deliveries: retries, failures, never twice -------------------------------------------

@pytest.fixture
def telegram_channel(settings: Settings) -> Iterator[tuple[Database, TelegramChannel]]:
    db = Database(settings.database_url)
    yield db, TelegramChannel(httpx.AsyncClient(timeout=5), settings)
    db.dispose()


async def test_transient_failures_are_retried_then_sent_once(
        telegram_channel: tuple[Database, TelegramChannel], settings: Settings,
        telegram_standin: TelegramStandIn) -> None:
    db, channel = telegram_channel
    chat_id = new_id()
    telegram_standin.recorder.fail_next(1, 502, {"ok": False, "error_code": 502,
                                                 "description": "Bad Gateway"})
    telegram_standin.recorder.fail_next(1, 429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 0",
        "parameters": {"retry_after": 0}})
    body = {"chat_id": chat_id, "text": "olá"}
    policy = RetryPolicy(attempts=4, backoff_s=0.01)
    key = f"test:{chat_id}:0"
    assert await deliver(db, policy, key=key, platform="telegram", recipient=str(chat_id),
                         body=body, send=channel.send)
    row = delivery(settings, key)
    assert row is not None and (row.status, row.attempts) == ("sent", 3)
    assert row.payload == body and row.sent_at is not None
    # Delivering the same key again sends nothing: it is recorded as sent.
    assert await deliver(db, policy, key=key, platform="telegram", recipient=str(chat_id),
                         body=body, send=channel.send)
    calls = telegram_standin.recorder.calls(
        lambda c: c.method == "sendMessage" and c.body.get("chat_id") == chat_id)
    assert [c.status for c in calls] == [502, 429, 200]


async def test_permanent_failure_is_recorded_and_not_retried(
        telegram_channel: tuple[Database, TelegramChannel], settings: Settings,
        telegram_standin: TelegramStandIn) -> None:
    db, channel = telegram_channel
    chat_id = new_id()
    telegram_standin.recorder.fail_next(1, 403, {
        "ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    key = f"test:{chat_id}:0"
    assert not await deliver(db, RetryPolicy(4, 0.01), key=key, platform="telegram",
                             recipient=str(chat_id), body={"chat_id": chat_id, "text": "x"},
                             send=channel.send)
    row = delivery(settings, key)
    assert row is not None and (row.status, row.attempts) == ("failed", 1)
    assert "bot was blocked by the user" in (row.last_error or "")


async def test_unreachable_platform_is_retried_a_bounded_number_of_times(
        settings: Settings) -> None:
    closed = settings.model_copy(update={"telegram_api_url": "http://127.0.0.1:9"})
    db = Database(settings.database_url)
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            channel = TelegramChannel(http, closed)
            assert not await deliver(db, RetryPolicy(3, 0.01), key="test:down:0",
                                     platform="telegram", recipient="1",
                                     body={"chat_id": 1, "text": "x"}, send=channel.send)
    finally:
        db.dispose()
    row = delivery(settings, "test:down:0")
    assert row is not None and (row.status, row.attempts) == ("failed", 3)
    assert "platform unreachable" in (row.last_error or "")


# --- WhatsApp -----------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "status"), [
    ({"hub.mode": "subscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
      "hub.challenge": "1158201444"}, 200),
    ({"hub.mode": "subscribe", "hub.verify_token": "errado", "hub.challenge": "1"}, 403),
    ({"hub.mode": "unsubscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
      "hub.challenge": "1"}, 403),
    ({}, 403)])
def test_whatsapp_verification_handshake(client: TestClient, params: dict[str, str],
                                         status: int) -> None:
    response = client.get("/webhooks/whatsapp", params=params)
    assert response.status_code == status
    if status == 200:
        assert response.text == "1158201444"
        assert response.headers["content-type"].startswith("text/plain")
    else:
        assert response.json()["error"] == "forbidden"


def test_whatsapp_refuses_a_missing_or_wrong_signature(client: TestClient,
                                                       settings: Settings) -> None:
    raw = signed(text_message("wamid.S1", "5561", "oi", WHATSAPP_PHONE_NUMBER_ID),
                 WHATSAPP_APP_SECRET)[0]
    for headers, status in (
            ({"Content-Type": "application/json"}, 401),
            (signature_headers(raw + b" ", WHATSAPP_APP_SECRET), 403),  # another body
            (signature_headers(raw, "not-the-app-secret"), 403),
            ({"X-Hub-Signature-256": "sha256=", "Content-Type": "application/json"}, 403)):
        response = client.post("/webhooks/whatsapp", content=raw, headers=headers)
        assert response.status_code == status
        assert set(response.json()) == {"error", "message", "details"}
    assert updates(settings) == []


def test_whatsapp_malformed_json_is_a_400(client: TestClient) -> None:
    raw = b'{"object": "whatsapp_business_account", '
    response = client.post("/webhooks/whatsapp", content=raw,
                           headers=signature_headers(raw, WHATSAPP_APP_SECRET))
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"


def test_whatsapp_statuses_are_acknowledged_and_ignored(
        client: TestClient, settings: Settings, whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id = f"55{new_id()}"
    for status in ("sent", "delivered", "read"):
        raw, headers = signed(status_update("wamid.OUT1", wa_id, status,
                                            WHATSAPP_PHONE_NUMBER_ID), WHATSAPP_APP_SECRET)
        assert client.post("/webhooks/whatsapp", content=raw, headers=headers).status_code \
            == 200
    assert updates(settings) == [] and whatsapp_standin.sent(wa_id) == []


def test_whatsapp_duplicate_message_id_is_answered_once(
        client: TestClient, settings: Settings, whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id, message_id = f"55{new_id()}", f"wamid.DUP{new_id()}"
    raw, headers = signed(text_message(message_id, wa_id, "oi", WHATSAPP_PHONE_NUMBER_ID),
                          WHATSAPP_APP_SECRET)
    for _ in range(3):
        assert client.post("/webhooks/whatsapp", content=raw, headers=headers).status_code \
            == 200
    whatsapp_standin.recorder.wait_for(lambda c: c.body.get("to") == wa_id, timeout=20)
    assert texts(whatsapp_standin.sent(wa_id)) == [ENGINE_DOWN_TEXT]
    read = whatsapp_standin.recorder.calls(lambda c: c.body.get("message_id") == message_id)
    assert [c.body["status"] for c in read] == ["read"]
    assert [(u.platform, u.update_id, u.sender) for u in updates(settings)] == [
        ("whatsapp", message_id, f"whatsapp:{wa_id}")]


def test_whatsapp_image_gets_the_text_only_reply(
        client: TestClient, whatsapp_standin: WhatsAppStandIn) -> None:
    wa_id = f"55{new_id()}"
    image = inbound_message(f"wamid.IMG{new_id()}", wa_id, "image",
                            {"mime_type": "image/jpeg", "sha256": "abc", "id": "1"},
                            WHATSAPP_PHONE_NUMBER_ID)
    raw, headers = signed(image, WHATSAPP_APP_SECRET)
    client.post("/webhooks/whatsapp", content=raw, headers=headers)
    calls = whatsapp_standin.recorder.wait_for(lambda c: c.body.get("to") == wa_id, timeout=20)
    assert texts(calls) == [UNSUPPORTED_TEXT]


# --- Sending outside a conversation turn (CAUC alerts) -------------------------------------

def test_send_text_reaches_both_platforms_split_like_answers(
        client: TestClient, telegram_standin: TelegramStandIn,
        whatsapp_standin: WhatsAppStandIn) -> None:
    runtime = client.app.state.channels  # type: ignore[attr-defined]
    chat_id, wa_id = new_id(), f"55{new_id()}"
    alert = "O item 3.2.2 do seu município passou a \"a comprovar\". " * 90  # ~5,000 chars
    assert client.portal is not None
    client.portal.call(runtime.send_text, "telegram", str(chat_id), alert)
    client.portal.call(runtime.send_text, "whatsapp", wa_id, "Alerta do CAUC.")
    assert [len(t) <= 4096 for t in texts(telegram_standin.sent(chat_id))] == [True, True]
    assert texts(whatsapp_standin.sent(wa_id)) == ["Alerta do CAUC."]
