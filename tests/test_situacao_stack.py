"""The CAUC situation through the real stack: snapshots loaded with `iara cauc load`, the
questions of a gestor on the web chat and on Telegram, and the alerts of a new snapshot
delivered through the Telegram stand-in exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.channels.alerts import notify_subscribers
from iara.db import Database
from iara.stack import Stack, settings_env
from tests.standins.telegram import TelegramStandIn, message_update
from tests.test_channels_stack import new_id, post_telegram, telegram_messages

pytestmark = pytest.mark.stack

FIXTURES = Path(__file__).parent / "fixtures" / "cauc"
FIRST = FIXTURES / "municipios-2026-09-15-latin1.csv"
SECOND = FIXTURES / "municipios-2026-09-16-utf8.csv"


def cli(stack: Stack, *args: str) -> str:
    env = {**os.environ, **settings_env(stack.settings)}
    result = subprocess.run([sys.executable, "-m", "iara.cli", *args], env=env,
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def chat(stack: Stack, sender: str, message: str) -> list[dict]:
    response = httpx.post(f"{stack.settings.api_base_url}/api/chat",
                          json={"sender": sender, "message": message}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


@pytest.fixture(scope="module")
def loaded(stack: Stack) -> Stack:
    out = cli(stack, "cauc", "load", str(FIRST))
    assert "Loaded municipios of 15/09/2026" in out
    return stack


def test_situation_of_a_municipio_on_the_web_chat(loaded: Stack) -> None:
    messages = chat(loaded, "e2e-cauc", "qual a situação de Acrelândia no CAUC?")
    text = messages[0]["text"]
    assert text.startswith("Acrelândia/AC no CAUC, posição de 15/09/2026:")
    assert "Como resolver:" in text and messages[0]["sources"]
    follow = chat(loaded, "e2e-cauc", messages[0]["buttons"][0]["payload"])
    # The button asks the item's how-to card: its answer links to that section.
    assert follow[0]["sources"] and follow[0]["link"]["url"].endswith("#como-regularizar")


def test_ambiguous_name_then_a_typed_answer(loaded: Stack) -> None:
    asked = chat(loaded, "e2e-cauc-2", "o município de Bom Jesus tem pendência no cauc?")
    assert "mais de um município" in asked[0]["text"]
    assert sorted(b["title"] for b in asked[0]["buttons"]) == ["Bom Jesus/PI", "Bom Jesus/RS"]
    answer = chat(loaded, "e2e-cauc-2", asked[0]["buttons"][1]["payload"])
    assert answer[0]["text"].startswith("Bom Jesus/RS no CAUC")


def test_subscription_on_telegram_and_one_alert_per_snapshot(
        loaded: Stack, telegram_standin: TelegramStandIn) -> None:
    chat_id = new_id()
    post_telegram(loaded, message_update(new_id(), chat_id,
                                         "me avise quando mudar algo em Acrelândia"))
    confirmation = telegram_messages(telegram_standin, chat_id)[0]
    assert "Vou avisar aqui quando a situação de Acrelândia/AC mudar" in \
        confirmation.body["text"]
    # A new snapshot arrives: one alert to the subscriber, and never a second one.
    out = cli(loaded, "cauc", "load", str(SECOND), "--notify")
    assert "1 sent now" in out or "sent now" in out
    alerts = telegram_messages(telegram_standin, chat_id, count=2)
    alert = alerts[1].body["text"]
    assert "Alerta CAUC: Acrelândia/AC" in alert and "Novas pendências" in alert
    assert "1.5" in alert
    cli(loaded, "cauc", "load", str(SECOND), "--notify")
    db = Database(loaded.settings.database_url)
    try:
        count, report = asyncio.run(notify_subscribers(loaded.settings, db))
    finally:
        db.dispose()
    assert report.sent == 0 and report.skipped == count
    assert len(telegram_standin.sent(chat_id)) == 2
    # And the gestor can ask what changed, then stop the alerts.
    post_telegram(loaded, message_update(new_id(), chat_id, "o que mudou em Acrelândia?"))
    changes = telegram_messages(telegram_standin, chat_id, count=3)[2].body["text"]
    assert "de 15/09/2026 para 16/09/2026" in changes
    post_telegram(loaded, message_update(new_id(), chat_id, "cancelar alertas"))
    assert "Alertas cancelados" in telegram_messages(telegram_standin, chat_id,
                                                     count=4)[3].body["text"]
