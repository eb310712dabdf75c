"""Loading a CAUC file into the app database: all or nothing, once per content hash."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cauc.errors import (
    CaucFormatError,
    EnteNotFoundError,
    InvalidCnpjError,
    SnapshotConflictError,
)
from cauc.models import Ente, ItemStatusRow, Snapshot
from cauc.parse import ESTADOS, ORGAOS, ParsedSnapshot, StatusRow, parse_bytes
from cauc.resolve import ESTADO, MUNICIPIO
from cauc.text import cnpj_digits, fold, is_valid_cnpj
from iara.db import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadReport:
    source: str
    sha256: str
    snapshot_date: date
    kind: str  # municipios | estados | orgaos
    loaded: bool  # False: this exact file was already loaded (nothing done)
    entes: int
    items: int
    statuses: int
    seconds: float
    replaced: bool = False


def load_file(db: Database, path: str | Path, *, replace: bool = False) -> LoadReport:
    """Load one CAUC file (open-data municipal or states file, or a per-órgão export).

    The same bytes loaded again do nothing (``loaded=False``). Another file for the same
    date and kind raises ``SnapshotConflictError`` unless ``replace``; an unknown layout
    or cell value raises ``CaucFormatError`` naming the line. One transaction: a failure
    leaves the database as it was.
    """
    started = time.perf_counter()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaucFormatError(str(path), None, f"cannot read the file ({exc.strerror})") from exc
    sha = hashlib.sha256(data).hexdigest()
    with db.session() as session:
        existing = session.scalar(select(Snapshot).where(Snapshot.sha256 == sha))
        if existing is not None:
            return _already(existing, str(path), started)
    parsed = parse_bytes(data, str(path))
    try:
        with db.session() as session:
            replaced = _store(session, parsed, replace=replace)
    except IntegrityError:
        with db.session() as session:  # the same file loaded concurrently by another process
            existing = session.scalar(select(Snapshot).where(Snapshot.sha256 == sha))
            if existing is None:
                raise
            return _already(existing, str(path), started)
    report = LoadReport(str(path), sha, parsed.date, parsed.kind, True,
                        len({row[0] for row in parsed.statuses}), len(parsed.item_codes),
                        len(parsed.statuses), time.perf_counter() - started, replaced)
    logger.info("Loaded CAUC %s of %s from %s: %d statuses in %.2fs", parsed.kind,
                parsed.date, path, report.statuses, report.seconds)
    return report


def _already(snapshot: Snapshot, source: str, started: float) -> LoadReport:
    return LoadReport(source, snapshot.sha256, snapshot.snapshot_date, snapshot.kind, False,
                      snapshot.ente_count, len(snapshot.item_codes), 0,
                      time.perf_counter() - started)


def _store(session: Session, parsed: ParsedSnapshot, *, replace: bool) -> bool:
    scope = ""
    if parsed.kind == ORGAOS:
        scope = _orgaos_ente(session, parsed)
        parsed.statuses = [(scope, item, status, until)
                           for _, item, status, until in parsed.statuses]
    else:
        _upsert_entes(session, parsed)
    replaced = False
    clash = session.scalar(select(Snapshot).where(
        Snapshot.kind == parsed.kind, Snapshot.snapshot_date == parsed.date,
        Snapshot.scope == scope))
    if clash is not None:
        if not replace:
            raise SnapshotConflictError(
                f"another {parsed.kind} file of {parsed.date:%d/%m/%Y} is already loaded "
                f"({clash.source_name}); use replace to load this one instead")
        session.execute(delete(ItemStatusRow).where(ItemStatusRow.snapshot_id == clash.id))
        session.delete(clash)
        session.flush()
        replaced = True
    snapshot = Snapshot(
        snapshot_date=parsed.date, kind=parsed.kind, scope=scope, layout=parsed.layout,
        sha256=parsed.sha256, source_name=Path(parsed.source).name[:300],
        encoding=parsed.encoding, item_codes=parsed.item_codes,
        ente_count=len(parsed.entes) or 1, meta=parsed.meta)
    session.add(snapshot)
    session.flush()
    _insert_statuses(session, snapshot.id, parsed.statuses)
    return replaced


def _upsert_entes(session: Session, parsed: ParsedSnapshot) -> None:
    """Insert new entes; refresh names, population... only from the newest file of a kind."""
    kind = ESTADO if parsed.kind == ESTADOS else MUNICIPIO
    newest = session.scalar(select(func.max(Snapshot.snapshot_date))
                            .where(Snapshot.kind == parsed.kind))
    refresh = newest is None or parsed.date >= newest
    existing = {e.ibge: e for e in session.scalars(select(Ente).where(Ente.kind == kind))}
    new_rows: list[dict[str, Any]] = []
    for p in parsed.entes:
        fields = {"kind": kind, "name": p.name, "name_key": fold(p.name), "uf": p.uf,
                  "region": p.region, "population": p.population, "siafi": p.siafi}
        ente = existing.get(p.ibge)
        if ente is None:
            new_rows.append({"ibge": p.ibge, **fields})
        elif refresh:
            for name, value in fields.items():
                if getattr(ente, name) != value:
                    setattr(ente, name, value)
    if new_rows:
        session.execute(insert(Ente), new_rows)
    session.flush()


def _orgaos_ente(session: Session, parsed: ParsedSnapshot) -> str:
    """The IBGE code of the ente a per-órgão export is about: by its CNPJ when stored, else
    by its exact name; the CNPJ of the file is then kept on the ente."""
    assert parsed.ente_cnpj is not None and parsed.ente_name is not None
    ente = session.scalar(select(Ente).where(Ente.cnpj == parsed.ente_cnpj))
    if ente is None:
        matches = list(session.scalars(select(Ente).where(
            Ente.name_key == fold(parsed.ente_name))))
        if len(matches) != 1:
            found = ", ".join(f"{e.name}/{e.uf}" for e in matches) or "none"
            raise CaucFormatError(
                parsed.source, parsed.ente_line,
                f"cannot tell which ente {parsed.ente_name!r} is (no ente has CNPJ "
                f"{parsed.ente_cnpj}; entes with that name: {found}); load the dados "
                "abertos file first or store the ente's CNPJ")
        ente = matches[0]
        if ente.cnpj is None and is_valid_cnpj(parsed.ente_cnpj):
            ente.cnpj = parsed.ente_cnpj
    return ente.ibge


_COLUMNS = "cauc_statuses (snapshot_id, ibge, item, status, valid_until)"
_COPY = f"COPY {_COLUMNS} FROM STDIN"
_INSERT_SQLITE = f"INSERT INTO {_COLUMNS} VALUES (?, ?, ?, ?, ?)"


def _insert_statuses(session: Session, snapshot_id: int, rows: list[StatusRow]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            with cursor.copy(_COPY) as copy:
                for ibge, item, status, valid_until in rows:
                    copy.write_row((snapshot_id, ibge, item, status, valid_until))
            cursor.execute("ANALYZE cauc_statuses")  # plan the next diffs with real counts
        return
    if connection.dialect.name == "sqlite":
        # Straight to the driver: SQLAlchemy's per-row parameter processing would be 2/3 of
        # the load time. Dates as ISO text, the format SQLAlchemy's SQLite Date reads.
        connection.exec_driver_sql(_INSERT_SQLITE, [
            (snapshot_id, ibge, item, status, valid_until.isoformat() if valid_until else None)
            for ibge, item, status, valid_until in rows])
        return
    connection.execute(insert(cast(Table, ItemStatusRow.__table__)), [
        {"snapshot_id": snapshot_id, "ibge": ibge, "item": item, "status": status,
         "valid_until": valid_until} for ibge, item, status, valid_until in rows])


def set_cnpj(db: Database, ibge: str, cnpj: str | None) -> None:
    """Store (or clear) an ente's CNPJ, e.g. from Siconfi ``/entes``: the CAUC files carry
    none, and a CNPJ typed by a gestor resolves only to an ente that has it."""
    value = None
    if cnpj is not None:
        if not is_valid_cnpj(cnpj):
            raise InvalidCnpjError(f"{cnpj!r} is not a valid CNPJ (check digits)")
        value = cnpj_digits(cnpj)
    with db.session() as session:
        ente = session.get(Ente, ibge)
        if ente is None:
            raise EnteNotFoundError(f"no ente with IBGE code {ibge} in the loaded CAUC files")
        ente.cnpj = value
