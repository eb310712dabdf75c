"""Subscriptions and alerts on SQLite and PostgreSQL: one message per subscriber per
snapshot with the right content, nothing twice (reloads, reruns, retries), bounded
retries for a failing sender."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import select

from cauc.alerts import (
    alerts_for_snapshot,
    deliver_alerts,
    deliver_pending,
    subscribe,
    subscriptions_of,
    unsubscribe,
)
from cauc.errors import EnteNotFoundError, SnapshotNotFoundError
from cauc.load import load_file
from iara.db import Database, Delivery
from tests.test_cauc_data import LATEST, PREVIOUS, fixture, real


class RecordingSender:
    """Records what it sends; fails the first ``fail_first`` calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls = 0
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, channel: str, user: str, text: str) -> None:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise ConnectionError("platform unavailable")
        self.sent.append((channel, user, text))


def deliveries(db: Database) -> dict[str, tuple[str, int]]:
    with db.session() as session:
        return {d.key: (d.status, d.attempts) for d in session.scalars(select(Delivery))}


async def test_two_subscribers_get_one_message_each_exactly_once(database_url: str) -> None:
    db = Database(database_url)
    load_file(db, real(PREVIOUS))
    assert subscribe(db, "1713304", "telegram", "1001")  # Miranorte/TO
    assert subscribe(db, "1500404", "whatsapp", "5593991")  # Alenquer/PA
    assert subscribe(db, "2933604", "telegram", "1002")  # Xique-Xique/BA: nothing new
    load_file(db, real(LATEST))

    alerts = alerts_for_snapshot(db, date(2026, 8, 21))
    assert [(a.key, a.channel, a.user) for a in alerts] == [
        ("alert:2026-08-21:1713304:telegram:1001", "telegram", "1001"),
        ("alert:2026-08-21:1500404:whatsapp:5593991", "whatsapp", "5593991")]
    miranorte, alenquer = (a.text for a in alerts)
    assert miranorte.startswith("Alerta CAUC: Miranorte/TO, posição de 21/08/2026 "
                                "(comparada com 20/08/2026).")
    assert ("Novas pendências:\n- 4.2 Regularidade previdenciária (CRP): comprovado → "
            "a comprovar") in miranorte
    assert "Situação atual: 3 itens a comprovar ou vencidos." in miranorte
    assert "resolvidas" not in miranorte
    assert ("Pendências resolvidas:\n- 3.2.3 Anexo 8 do RREO ao SIOPE (educação): "
            "comprovado, válido até 30/09/2026") in alenquer
    assert "Situação atual: 1 item a comprovar ou vencido." in alenquer
    assert "Novas pendências" not in alenquer

    sender = RecordingSender(fail_first=1)  # the first send fails, the retry succeeds
    report = await deliver_alerts(db, alerts, sender, retry_delay_s=0)
    assert (report.sent, report.skipped, report.failed) == (2, 0, 0)
    assert [(c, u) for c, u, _ in sender.sent] == [("telegram", "1001"),
                                                   ("whatsapp", "5593991")]
    assert sender.sent[0][2] == miranorte
    assert deliveries(db) == {"alert:2026-08-21:1713304:telegram:1001": ("sent", 2),
                              "alert:2026-08-21:1500404:whatsapp:5593991": ("sent", 1)}

    # The same file loaded again, the alerts computed and delivered again: nothing new.
    assert load_file(db, real(LATEST)).loaded is False
    again = alerts_for_snapshot(db, date(2026, 8, 21))
    assert [a.key for a in again] == [a.key for a in alerts]
    report = await deliver_alerts(db, again, sender, retry_delay_s=0)
    assert (report.sent, report.skipped, report.failed) == (0, 2, 0)
    assert (await deliver_pending(db, sender, retry_delay_s=0)).sent == 0
    assert len(sender.sent) == 2 and len(deliveries(db)) == 2
    db.dispose()


async def test_alert_content_on_the_fixtures(database_url: str) -> None:
    db = Database(database_url)
    load_file(db, fixture("municipios-2026-09-15-latin1.csv"))
    for ibge, user in (("1200013", "a"), ("2933604", "b"), ("4302303", "c")):
        subscribe(db, ibge, "web", user)
    load_file(db, fixture("municipios-2026-09-16-utf8.csv"))
    by_user = {a.user: a.text for a in alerts_for_snapshot(db, date(2026, 9, 16))}
    acre, xique, bom_jesus_rs = by_user["a"], by_user["b"], by_user["c"]
    assert "Novas pendências:\n- 1.5 Regularidade perante o Poder Público Federal" in acre
    assert ("Pendências resolvidas:\n- 1.1 Tributos federais, contribuições previdenciárias "
            "e Dívida Ativa da União: comprovado, válido até 10/03/2027") in acre
    assert "4.2" not in acre  # 03/10 was already within 30 days on 15/09: said once
    assert ("Pendências resolvidas:\n- 3.5 Cadastro da Dívida Pública (CDP): comprovado, "
            "válido até 16/09/2026") in xique
    assert ("Comprovação que vence nos próximos 30 dias:\n- 4.2 Regularidade previdenciária "
            "(CRP): válido até 16/10/2026") in xique  # entered the window today
    # 3.7 switched off for all 15 entes: a general note in every message, never a change.
    for text in (acre, xique, bom_jesus_rs):
        assert text.count("3.7") == 1
        assert ("Aviso geral (vale para todos, não só para este ente):\n- o item 3.7 (Adoção "
                "do SIAFIC) passou a desabilitado para todos os municípios") in text
    assert "Novas pendências" not in bom_jesus_rs and "resolvidas" not in bom_jesus_rs
    db.dispose()


async def test_a_failing_sender_is_retried_a_bounded_number_of_times(
        database_url: str) -> None:
    db = Database(database_url)
    load_file(db, fixture("municipios-2026-09-15-latin1.csv"))
    subscribe(db, "1200013", "telegram", "9")
    load_file(db, fixture("municipios-2026-09-16-utf8.csv"))
    alerts = alerts_for_snapshot(db, date(2026, 9, 16))
    down = RecordingSender(fail_first=100)
    report = await deliver_alerts(db, alerts, down, max_attempts=3, retry_delay_s=0)
    assert (report.sent, report.failed, down.calls) == (0, 1, 3)
    key = "alert:2026-09-16:1200013:telegram:9"
    assert deliveries(db) == {key: ("failed", 3)}
    with db.session() as session:
        row = session.scalar(select(Delivery).where(Delivery.key == key))
        assert row is not None and row.last_error == "ConnectionError: platform unavailable"
        assert row.payload["text"] == alerts[0].text
    up = RecordingSender()
    assert (await deliver_alerts(db, alerts, up, max_attempts=3, retry_delay_s=0)).skipped == 1
    assert (await deliver_pending(db, up, max_attempts=3, retry_delay_s=0)).sent == 0
    assert up.calls == 0
    db.dispose()


class CancelledMidSend:
    async def send(self, channel: str, user: str, text: str) -> None:
        raise asyncio.CancelledError  # the process is stopped while sending


async def test_an_interrupted_run_is_finished_by_deliver_pending(database_url: str) -> None:
    db = Database(database_url)
    load_file(db, fixture("municipios-2026-09-15-latin1.csv"))
    subscribe(db, "1200013", "web", "a")
    subscribe(db, "2933604", "web", "b")
    load_file(db, fixture("municipios-2026-09-16-utf8.csv"))
    alerts = alerts_for_snapshot(db, date(2026, 9, 16))
    with pytest.raises(asyncio.CancelledError):
        await deliver_alerts(db, alerts, CancelledMidSend(), retry_delay_s=0)
    # The first message may or may not have reached the user: never sent again. The
    # second was recorded but not tried: deliver_pending sends it.
    assert deliveries(db) == {"alert:2026-09-16:1200013:web:a": ("sending", 1),
                              "alert:2026-09-16:2933604:web:b": ("pending", 0)}
    sender = RecordingSender()
    report = await deliver_pending(db, sender, retry_delay_s=0)
    assert (report.sent, report.skipped, report.failed) == (1, 0, 0)
    assert [(user, text) for _, user, text in sender.sent] == [("b", alerts[1].text)]
    assert (await deliver_pending(db, sender, retry_delay_s=0)).sent == 0
    db.dispose()


def test_subscribing_and_unsubscribing(database_url: str) -> None:
    db = Database(database_url)
    load_file(db, fixture("municipios-2026-09-15-latin1.csv"))
    assert subscribe(db, "1200013", "telegram", "5") is True
    assert subscribe(db, "1200013", "telegram", "5") is False  # already following
    assert subscribe(db, "5006275", "telegram", "5") is True
    assert [e.label for e in subscriptions_of(db, "telegram", "5")] == [
        "Acrelândia/AC", "Paraiso das Aguas/MS"]
    assert unsubscribe(db, "1200013", "telegram", "5") is True
    assert unsubscribe(db, "1200013", "telegram", "5") is False
    assert [e.ibge for e in subscriptions_of(db, "telegram", "5")] == ["5006275"]
    assert subscribe(db, "1200013", "telegram", "5") is True  # reactivated
    assert len(subscriptions_of(db, "telegram", "5")) == 2
    assert subscriptions_of(db, "whatsapp", "5") == []
    with pytest.raises(EnteNotFoundError):
        subscribe(db, "9999999", "telegram", "5")
    # Unsubscribed users get nothing; a single snapshot has nothing to compare with.
    unsubscribe(db, "1200013", "telegram", "5")
    unsubscribe(db, "5006275", "telegram", "5")
    assert alerts_for_snapshot(db, date(2026, 9, 15)) == []
    load_file(db, fixture("municipios-2026-09-16-utf8.csv"))
    assert alerts_for_snapshot(db, date(2026, 9, 16)) == []
    with pytest.raises(SnapshotNotFoundError):
        alerts_for_snapshot(db, date(2026, 9, 17))
    db.dispose()
