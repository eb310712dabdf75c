"""Tables of the CAUC snapshot store, on the app database's ``iara.db.Base``.

- ``cauc_entes``: one row per ente (IBGE code); name, population... from the newest file.
- ``cauc_snapshots``: one row per loaded file (date, kind, content hash).
- ``cauc_statuses``: long format, one row per snapshot × ente × item; the primary key
  (snapshot, ente, item) is the only index (clustered on SQLite: ``WITHOUT ROWID``), which
  serves every query: a whole snapshot, one ente in a snapshot, the join of two snapshots.
  About 156k rows (7 MB on SQLite) per municipal file.
- ``cauc_subscriptions``: who gets alerts for which ente, on which channel.

The schema itself is created by the Alembic migration ``0002``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from iara.db import Base, utcnow


class Ente(Base):
    __tablename__ = "cauc_entes"

    ibge: Mapped[str] = mapped_column(String(7), primary_key=True)  # 7 digits, 2 for states
    kind: Mapped[str] = mapped_column(String(10))  # municipio | estado
    name: Mapped[str] = mapped_column(String(120))  # as in the newest file
    name_key: Mapped[str] = mapped_column(String(120), index=True)  # cauc.text.fold(name)
    uf: Mapped[str] = mapped_column(String(2), index=True)
    region: Mapped[str | None] = mapped_column(String(2), nullable=True)
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    siafi: Mapped[str | None] = mapped_column(String(8), nullable=True)
    cnpj: Mapped[str | None] = mapped_column(String(14), nullable=True, unique=True)


class Snapshot(Base):
    __tablename__ = "cauc_snapshots"
    __table_args__ = (UniqueConstraint("kind", "snapshot_date", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_date: Mapped[date] = mapped_column(Date, index=True)  # "Data da Pesquisa"
    kind: Mapped[str] = mapped_column(String(12))  # municipios | estados | orgaos
    scope: Mapped[str] = mapped_column(String(7), default="")  # orgaos: the ente's IBGE
    layout: Mapped[str] = mapped_column(String(20))  # dados_abertos | orgaos
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source_name: Mapped[str] = mapped_column(String(300))
    encoding: Mapped[str] = mapped_column(String(20))
    item_codes: Mapped[list[Any]] = mapped_column(JSON)
    ente_count: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ItemStatusRow(Base):
    __tablename__ = "cauc_statuses"
    __table_args__ = ({"sqlite_with_rowid": False},)  # clustered on the primary key

    # No foreign keys here, on purpose: only the loader writes this table, in the
    # transaction that creates the snapshot and the entes first (and deletes a replaced
    # snapshot's rows itself); checking 156k rows per file doubled the load time.
    snapshot_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # cauc_snapshots.id
    ibge: Mapped[str] = mapped_column(String(7), primary_key=True)  # cauc_entes.ibge
    item: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # cauc.status.Status
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class Subscription(Base):
    __tablename__ = "cauc_subscriptions"
    __table_args__ = (UniqueConstraint("ibge", "channel", "channel_user"),
                      Index("ix_cauc_subscriptions_user", "channel", "channel_user"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ibge: Mapped[str] = mapped_column(String(7), ForeignKey("cauc_entes.ibge"))
    channel: Mapped[str] = mapped_column(String(20))  # web | telegram | whatsapp ...
    channel_user: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
