"""The channels' records in the app database (synchronous: call through
``asyncio.to_thread``).

- ``ChannelUpdate``: one row per inbound platform update, inserted *before* it is
  processed; the unique (platform, update_id) makes a platform's retry a no-op.
- ``Delivery``: one row per outbound platform message, keyed
  ``<platform>:<update_id>:<n>``, so a message recorded as sent is never sent again.
- Button payloads too long for a platform's button data are kept as ``Delivery`` rows
  with ``status = "ref"`` and key ``ref:<platform>:<hash>`` (the payload in ``payload``),
  resolved when the button is pressed. They are not deliveries: filter them out by status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from iara.db import ChannelUpdate, Database, Delivery, utcnow

REF_STATUS = "ref"


def claim_update(db: Database, platform: str, update_id: str, sender: str) -> bool:
    """Record an inbound update; False when it was already recorded (a duplicate)."""
    try:
        with db.session() as session:
            session.add(ChannelUpdate(platform=platform, update_id=update_id, sender=sender))
    except IntegrityError:
        return False
    return True


def finish_update(db: Database, platform: str, update_id: str, status: str) -> None:
    with db.session() as session:
        row = session.scalars(select(ChannelUpdate).where(
            ChannelUpdate.platform == platform, ChannelUpdate.update_id == update_id)).first()
        if row is not None:
            row.status = status


@dataclass(frozen=True)
class DeliveryState:
    status: str  # pending | sent | failed
    attempts: int


def open_delivery(db: Database, key: str, platform: str, recipient: str,
                  payload: dict[str, Any]) -> DeliveryState:
    """The delivery ``key``, created pending when new."""
    try:
        with db.session() as session:
            session.add(Delivery(key=key, platform=platform, recipient=recipient,
                                 payload=payload, status="pending", attempts=0))
    except IntegrityError:
        pass
    with db.session() as session:
        row = session.scalars(select(Delivery).where(Delivery.key == key)).one()
        return DeliveryState(row.status, row.attempts)


def record_attempt(db: Database, key: str, *, error: str | None, final: bool) -> int:
    """Count one attempt: sent when ``error`` is None, else pending (retrying) or failed
    (``final``). Returns the attempts so far."""
    with db.session() as session:
        row = session.scalars(select(Delivery).where(Delivery.key == key)).one()
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
        else:
            row.status, row.last_error = ("failed" if final else "pending"), error[:2000]
        return row.attempts


def save_refs(db: Database, platform: str, refs: dict[str, str]) -> None:
    """Keep ``{ref: payload}`` so a pressed button can be resolved (idempotent)."""
    for ref, payload in refs.items():
        try:
            with db.session() as session:
                session.add(Delivery(key=_ref_key(platform, ref), platform=platform,
                                     recipient="", payload={"payload": payload},
                                     status=REF_STATUS, attempts=0))
        except IntegrityError:
            pass  # already known: the same payload always has the same ref


def resolve_ref(db: Database, platform: str, ref: str) -> str | None:
    with db.session() as session:
        row = session.scalars(select(Delivery).where(
            Delivery.key == _ref_key(platform, ref), Delivery.status == REF_STATUS)).first()
        payload = row.payload.get("payload") if row is not None else None
        return str(payload) if isinstance(payload, str) else None


def _ref_key(platform: str, ref: str) -> str:
    return f"ref:{platform}:{ref}"
