"""Loading CAUC files into the app database, on SQLite and PostgreSQL: real files,
idempotent reloads, all-or-nothing refusals, conflicts, the per-órgão export, CNPJs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from cauc.errors import CaucFormatError, InvalidCnpjError, SnapshotConflictError
from cauc.load import load_file, set_cnpj
from cauc.models import Ente, ItemStatusRow, Snapshot
from cauc.queries import situation
from cauc.resolve import resolve_ente
from cauc.status import Status
from iara.db import Database
from tests.test_cauc_data import LATEST, STATES, fixture, real


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return (session.scalar(select(func.count()).select_from(Snapshot)) or 0,
                session.scalar(select(func.count()).select_from(Ente)) or 0,
                session.scalar(select(func.count()).select_from(ItemStatusRow)) or 0)


def test_the_migration_creates_the_cauc_tables(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_ready()
    assert {"cauc_entes", "cauc_snapshots", "cauc_statuses", "cauc_subscriptions"} <= set(
        inspect(db.engine).get_table_names())
    db.dispose()


def test_a_real_file_loads_once(database_url: str) -> None:
    db = Database(database_url)
    report = load_file(db, real(LATEST))
    assert report.loaded and (report.kind, report.snapshot_date) == ("municipios",
                                                                     date(2026, 8, 21))
    assert (report.entes, report.items, report.statuses) == (5569, 28, 155932)
    assert counts(db) == (1, 5569, 155932)
    again = load_file(db, real(LATEST))
    assert not again.loaded and again.sha256 == report.sha256
    assert counts(db) == (1, 5569, 155932)
    with db.session() as session:
        row = session.get(ItemStatusRow, (1, "1200013", "4.2"))
        assert row is not None and (row.status, row.valid_until) == (Status.COMPROVADO,
                                                                     date(2026, 9, 16))
        ente = session.get(Ente, "5006275")
        assert ente is not None and (ente.name, ente.name_key, ente.uf, ente.population) == (
            "PARAISO DAS AGUAS", "paraiso das aguas", "MS", None)
    db.dispose()


def test_latin1_and_utf8_files_both_load(database_url: str) -> None:
    db = Database(database_url)
    first = load_file(db, fixture("municipios-2026-09-15-latin1.csv"))
    second = load_file(db, fixture("municipios-2026-09-16-utf8.csv"))
    assert first.loaded and second.loaded
    assert counts(db) == (2, 15, 2 * 15 * 28)
    with db.session() as session:
        names = set(session.scalars(select(Ente.name)))
        encodings = set(session.scalars(select(Snapshot.encoding)))
    assert {"Acrelândia", "Olho d'Água das Flores", "São Paulo"} <= names
    assert encodings == {"iso-8859-1", "utf-8"}
    db.dispose()


def test_a_refused_file_leaves_the_database_as_it_was(database_url: str,
                                                      tmp_path: Path) -> None:
    db = Database(database_url)
    with pytest.raises(CaucFormatError, match=r"celula-desconhecida.csv:10: unknown value"):
        load_file(db, fixture("celula-desconhecida.csv"))
    with pytest.raises(CaucFormatError, match=r":1: unknown layout"):
        load_file(db, fixture("layout-desconhecido.csv"))
    assert counts(db) == (0, 0, 0)
    load_file(db, fixture("municipios-2026-09-15-latin1.csv"))
    before = counts(db)
    # A file that fails inside the transaction (another file for the same date): nothing
    # of it stays, not even its new entes.
    text = fixture("municipios-2026-09-15-latin1.csv").read_bytes().decode("latin-1")
    other = tmp_path / "outro-15-09.csv"
    other.write_bytes(text.replace('"Acrelândia";"1200013"', '"Nova Cidade";"1200099"')
                      .encode("latin-1"))
    with pytest.raises(SnapshotConflictError, match="another municipios file of 15/09/2026"):
        load_file(db, other)
    assert counts(db) == before
    with db.session() as session:
        assert session.get(Ente, "1200099") is None
    replaced = load_file(db, other, replace=True)
    assert replaced.loaded and replaced.replaced
    assert counts(db) == (1, 16, 15 * 28)
    db.dispose()


def test_the_per_orgao_export_loads_for_its_ente(database_url: str) -> None:
    db = Database(database_url)
    with pytest.raises(CaucFormatError, match=r"orgaos-maranhao-2026-09-02.csv:3: cannot "
                       r"tell which ente 'Maranhão' is"):
        load_file(db, fixture("orgaos-maranhao-2026-09-02.csv"))
    load_file(db, real(STATES))
    report = load_file(db, fixture("orgaos-maranhao-2026-09-02.csv"))
    assert report.loaded and report.kind == "orgaos" and report.statuses == 30
    state = situation(db, "21")
    assert (state.snapshot_date, state.kind) == (date(2026, 9, 2), "orgaos")
    assert [i.code for i in state.pendencias] == ["1.5"]
    assert "1.3" in [i.code for i in state.desabilitados]
    # The file named the ente's CNPJ: kept, so a gestor can now type it.
    assert resolve_ente(db, "06.354.468/0001-60").ente == resolve_ente(db, "Maranhão").ente
    assert load_file(db, fixture("orgaos-maranhao-2026-09-02.csv")).loaded is False
    db.dispose()


def test_a_cnpj_resolves_only_once_stored(database_url: str) -> None:
    db = Database(database_url)
    load_file(db, fixture("municipios-2026-09-15-latin1.csv"))
    assert resolve_ente(db, "76.208.487/0001-64").status == "not_found"
    set_cnpj(db, "4117909", "76.208.487/0001-64")
    found = resolve_ente(db, "76208487000164").ente
    assert found is not None and (found.label, found.cnpj) == ("Palotina/PR", "76208487000164")
    assert resolve_ente(db, "76.208.487/0001-65").status == "invalid_cnpj"
    with pytest.raises(InvalidCnpjError):
        set_cnpj(db, "4117909", "76208487000165")
    set_cnpj(db, "4117909", None)
    assert resolve_ente(db, "76208487000164").status == "not_found"
    db.dispose()
