"""Subscriptions and alerts: who follows which ente, what changed for them in a new
snapshot (one message per subscriber per snapshot), and delivery exactly once.

Delivery goes through an injected ``AlertSender`` (the API's Telegram/WhatsApp/web
senders) and is recorded in the app's ``deliveries`` table under the key
``alert:<snapshot date>:<ibge>:<channel>:<user>``, so reloading a file or running the
alerts again never sends a message twice. A row is claimed (``sending``) before the send,
and a failed send returns it to ``pending`` until ``max_attempts``; then it is ``failed``.
A process that dies between claim and send leaves ``sending``: never resent
automatically, by design (at most once).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cauc.errors import EnteNotFoundError, SnapshotNotFoundError
from cauc.messages import alert_text
from cauc.models import Ente, ItemStatusRow, Snapshot, Subscription
from cauc.queries import (
    DEFAULT_EVENT_SHARE,
    DEFAULT_EXPIRY_DAYS,
    ItemChange,
    ItemEvent,
    ItemState,
    compare_states,
    diff_snapshots,
    snapshot_for,
    split_events,
)
from cauc.resolve import ESTADO, MUNICIPIO, EnteRef, ente_ref
from cauc.status import PENDING, Status
from cauc.text import item_sort_key, item_title
from iara.db import Database, Delivery, utcnow

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 3
_KIND_OF_ENTE = {"municipios": MUNICIPIO, "estados": ESTADO}


class AlertSender(Protocol):
    """Sends one plain-text message to one user of one channel; raises on failure."""

    async def send(self, channel: str, user: str, text: str) -> None: ...


@dataclass(frozen=True)
class Alert:
    key: str
    channel: str
    user: str
    ibge: str
    snapshot_date: date
    text: str


@dataclass(frozen=True)
class DeliveryReport:
    sent: int  # sent now
    skipped: int  # already sent (or being sent by another process, or given up before)
    failed: int  # failed now and out of attempts


# --- Subscriptions ------------------------------------------------------------------------
def subscribe(db: Database, ibge: str, channel: str, user: str) -> bool:
    """Follow an ente; True if this created or reactivated a subscription."""
    with db.session() as session:
        if session.get(Ente, ibge) is None:
            raise EnteNotFoundError(f"no ente with IBGE code {ibge} in the loaded CAUC files")
        existing = session.scalar(select(Subscription).where(
            Subscription.ibge == ibge, Subscription.channel == channel,
            Subscription.channel_user == user))
        if existing is None:
            session.add(Subscription(ibge=ibge, channel=channel, channel_user=user))
            return True
        if existing.active:
            return False
        existing.active, existing.updated_at = True, utcnow()
        return True


def unsubscribe(db: Database, ibge: str, channel: str, user: str) -> bool:
    """Stop following an ente; True if an active subscription was ended."""
    with db.session() as session:
        result = session.execute(
            update(Subscription).where(
                Subscription.ibge == ibge, Subscription.channel == channel,
                Subscription.channel_user == user, Subscription.active.is_(True))
            .values(active=False, updated_at=utcnow()),
            execution_options={"synchronize_session": False})
        return bool(getattr(result, "rowcount", 0))


def subscriptions_of(db: Database, channel: str, user: str) -> list[EnteRef]:
    """The entes a user follows (active subscriptions)."""
    with db.session() as session:
        entes = session.scalars(
            select(Ente).join(Subscription, Subscription.ibge == Ente.ibge)
            .where(Subscription.channel == channel, Subscription.channel_user == user,
                   Subscription.active.is_(True)).order_by(Ente.name_key))
        return [ente_ref(e) for e in entes]


# --- Alerts -------------------------------------------------------------------------------
def alert_key(snapshot_date: date, ibge: str, channel: str, user: str) -> str:
    return f"alert:{snapshot_date.isoformat()}:{ibge}:{channel}:{user}"


def alerts_for_snapshot(db: Database, snapshot_date: date, *, kind: str | None = None,
                        expiry_days: int = DEFAULT_EXPIRY_DAYS,
                        share: float = DEFAULT_EVENT_SHARE) -> list[Alert]:
    """One message per active subscription whose ente has news in the snapshot of
    ``snapshot_date`` compared with the previous one: new pendências, resolved ones, items
    entering the ``expiry_days`` window, item-wide events (said once, as a general note,
    never as this ente's own pendência). Nothing is sent here."""
    alerts: list[Alert] = []
    with db.session() as session:
        statement = select(Snapshot).where(Snapshot.snapshot_date == snapshot_date,
                                           Snapshot.scope == "")
        if kind:
            statement = statement.where(Snapshot.kind == kind)
        snapshots = list(session.scalars(statement))
        if not snapshots:
            raise SnapshotNotFoundError(f"no snapshot of {snapshot_date:%d/%m/%Y} is loaded")
        for snapshot in snapshots:
            try:
                previous = snapshot_for(session, snapshot.kind, before=snapshot.snapshot_date)
            except SnapshotNotFoundError:
                logger.info("No %s snapshot before %s: no alerts", snapshot.kind, snapshot_date)
                continue
            alerts += _alerts(session, previous, snapshot, expiry_days, share)
    return alerts


def _alerts(session: Session, previous: Snapshot, snapshot: Snapshot, expiry_days: int,
            share: float) -> list[Alert]:
    subscriptions = list(session.execute(
        select(Subscription.ibge, Subscription.channel, Subscription.channel_user)
        .join(Ente, Ente.ibge == Subscription.ibge)
        .where(Subscription.active.is_(True),
               Ente.kind == _KIND_OF_ENTE.get(snapshot.kind, MUNICIPIO))
        .order_by(Subscription.id)))
    if not subscriptions:
        return []
    events = diff_snapshots(session, previous, snapshot, share).events
    subscribed = {ibge for ibge, _, _ in subscriptions}
    states: dict[tuple[int, str], dict[str, ItemStatusRow]] = defaultdict(dict)
    for row in session.scalars(select(ItemStatusRow).where(
            ItemStatusRow.snapshot_id.in_((previous.id, snapshot.id)),
            ItemStatusRow.ibge.in_(select(Subscription.ibge).where(
                Subscription.active.is_(True))))):
        states[(row.snapshot_id, row.ibge)][row.item] = row
    texts: dict[str, str | None] = {}
    for ibge in subscribed:
        old, new = states.get((previous.id, ibge)), states.get((snapshot.id, ibge))
        if not old or not new:
            texts[ibge] = None
            continue
        changes, _ = split_events(compare_states(old, new), events)
        changed = {c.code for c in changes}  # a resolved line already shows its date
        expiring = [i for i in _newly_expiring(old, new, previous.snapshot_date,
                                               snapshot.snapshot_date, expiry_days)
                    if i.code not in changed]
        texts[ibge] = _text(session, ibge, snapshot, previous, changes, expiring, events, new,
                            expiry_days)
    return [Alert(alert_key(snapshot.snapshot_date, ibge, channel, user), channel, user, ibge,
                  snapshot.snapshot_date, text)
            for ibge, channel, user in subscriptions if (text := texts.get(ibge))]


def _text(session: Session, ibge: str, snapshot: Snapshot, previous: Snapshot,
          changes: list[ItemChange], expiring: list[ItemState], events: list[ItemEvent],
          new: dict[str, ItemStatusRow], expiry_days: int) -> str | None:
    if not (changes or expiring or events):
        return None
    pendencias = sum(1 for row in new.values() if row.status in PENDING)
    ente = session.get(Ente, ibge)
    assert ente is not None  # subscriptions reference entes
    return alert_text(ente_ref(ente), snapshot.snapshot_date,
                      previous.snapshot_date, changes, expiring, events, pendencias,
                      expiry_days)


def _newly_expiring(old: dict[str, ItemStatusRow], new: dict[str, ItemStatusRow],
                    old_date: date, new_date: date, days: int) -> list[ItemState]:
    """Proven items whose validity ends within ``days`` of the new snapshot and that were
    not already in that window (same date) at the previous one: said once, not daily."""
    out = []
    for code, row in new.items():
        until = row.valid_until
        if row.status != Status.COMPROVADO or until is None:
            continue
        if not new_date < until <= new_date + timedelta(days=days):
            continue
        before = old.get(code)
        if (before is not None and before.status == Status.COMPROVADO
                and before.valid_until == until
                and old_date < until <= old_date + timedelta(days=days)):
            continue
        out.append(ItemState(code, item_title(code), row.status, until))
    return sorted(out, key=lambda i: (i.valid_until, item_sort_key(i.code)))


# --- Delivery -----------------------------------------------------------------------------
async def deliver_alerts(db: Database, alerts: list[Alert], sender: AlertSender, *,
                         max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                         retry_delay_s: float = 1.0) -> DeliveryReport:
    """Send each alert at most once (``Delivery`` row per key), retrying a failed send up
    to ``max_attempts`` in all, with exponential backoff from ``retry_delay_s``."""
    for alert in alerts:
        _record(db, alert)
    return await _deliver_keys(db, [a.key for a in alerts], sender, max_attempts,
                               retry_delay_s)


async def deliver_pending(db: Database, sender: AlertSender, *,
                          max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                          retry_delay_s: float = 1.0) -> DeliveryReport:
    """Retry alert deliveries left ``pending`` (e.g. a run interrupted before sending)."""
    with db.session() as session:
        keys = list(session.scalars(select(Delivery.key).where(
            Delivery.key.startswith("alert:"), Delivery.status == "pending",
            Delivery.attempts < max_attempts).order_by(Delivery.id)))
    return await _deliver_keys(db, keys, sender, max_attempts, retry_delay_s)


def _record(db: Database, alert: Alert) -> None:
    try:
        with db.session() as session:
            if session.scalar(select(Delivery.id).where(Delivery.key == alert.key)) is None:
                session.add(Delivery(
                    key=alert.key, platform=alert.channel, recipient=alert.user,
                    payload={"kind": "cauc_alert", "ibge": alert.ibge, "text": alert.text,
                             "snapshot": alert.snapshot_date.isoformat()},
                    status="pending", attempts=0))
    except IntegrityError:
        pass  # recorded at the same moment by another process: same key, same message


async def _deliver_keys(db: Database, keys: list[str], sender: AlertSender, max_attempts: int,
                        retry_delay_s: float) -> DeliveryReport:
    sent = skipped = failed = 0
    for key in keys:
        outcome = await _deliver_one(db, key, sender, max_attempts, retry_delay_s)
        sent += outcome == "sent"
        skipped += outcome == "skipped"
        failed += outcome == "failed"
    return DeliveryReport(sent, skipped, failed)


def _claim(db: Database, key: str, max_attempts: int) -> Delivery | None:
    with db.session() as session:
        result = session.execute(
            update(Delivery).where(Delivery.key == key, Delivery.status == "pending",
                                   Delivery.attempts < max_attempts)
            .values(status="sending", attempts=Delivery.attempts + 1),
            execution_options={"synchronize_session": False})
        if not getattr(result, "rowcount", 0):
            return None
        return session.scalar(select(Delivery).where(Delivery.key == key))


async def _deliver_one(db: Database, key: str, sender: AlertSender, max_attempts: int,
                       retry_delay_s: float) -> str:
    tried = False
    while True:
        delivery = _claim(db, key, max_attempts)
        if delivery is None:
            return "failed" if tried else "skipped"
        tried = True
        try:
            await sender.send(delivery.platform, delivery.recipient, delivery.payload["text"])
        except Exception as exc:  # the sender's failure, whatever it is, is recorded
            exhausted = delivery.attempts >= max_attempts
            logger.warning("Alert delivery %s failed (attempt %d/%d): %s", key,
                           delivery.attempts, max_attempts, exc.__class__.__name__)
            with db.session() as session:
                session.execute(update(Delivery).where(Delivery.key == key).values(
                    status="failed" if exhausted else "pending",
                    last_error=f"{exc.__class__.__name__}: {exc}"[:2000]))
            if exhausted:
                return "failed"
            await asyncio.sleep(retry_delay_s * 2 ** (delivery.attempts - 1))
            continue
        with db.session() as session:
            session.execute(update(Delivery).where(Delivery.key == key).values(
                status="sent", sent_at=utcnow(), last_error=None))
        return "sent"
