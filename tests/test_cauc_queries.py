"""Queries over the real files (20/08 and 21/08/2026 plus the states file), loaded once
per module on SQLite and on PostgreSQL: the README's facts, município lookups,
situations, diffs and item-wide events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from cauc.alerts import alerts_for_snapshot, subscribe
from cauc.errors import EnteNotFoundError, SnapshotNotFoundError
from cauc.load import load_file
from cauc.queries import ente_diff, expiring_items, situation, snapshot_diff, snapshot_stats
from cauc.resolve import resolve_ente
from cauc.status import Change, Status
from iara.db import Database
from tests.test_cauc_data import LATEST, PREVIOUS, STATES, fresh_database, real


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with fresh_database(request.param, tmp_path_factory.mktemp("cauc")) as database:
        for name in (PREVIOUS, LATEST, STATES):
            load_file(database, real(name))
        yield database


def test_the_facts_of_21_08(db: Database) -> None:
    stats = snapshot_stats(db)
    assert (stats.date, stats.entes, stats.entes_a_comprovar) == (date(2026, 8, 21), 5569, 3226)
    assert stats.top(n=4) == [("3.2.3", 1815), ("1.5", 1234), ("1.1", 993), ("3.2.4", 921)]
    # 1.3 is off for every município: one item-wide fact, not 5,569 pendências.
    assert [(w.item, w.status, w.entes, w.of) for w in stats.item_wide] == [
        ("1.3", Status.DESABILITADO, 5569, 5569)]


def test_the_changes_from_20_08_to_21_08(db: Database) -> None:
    diff = snapshot_diff(db)
    assert (diff.old_date, diff.new_date, diff.changes) == (date(2026, 8, 20),
                                                            date(2026, 8, 21), 274)
    assert diff.item_changes("3.2.3", Status.A_COMPROVAR, Status.COMPROVADO) == 58
    assert diff.item_changes("3.2.4", Status.A_COMPROVAR, Status.COMPROVADO) == 32
    assert diff.item_changes("3.2.2", Status.A_COMPROVAR, Status.COMPROVADO) == 26
    assert sum(sum(c.values()) for c in diff.by_item.values()) == 274
    assert diff.by_change == {Change.RESOLVIDA: 251, Change.NOVA_PENDENCIA: 23}
    assert diff.events == [] and (diff.added_entes, diff.removed_entes) == (0, 0)
    assert snapshot_diff(db, new=date(2026, 8, 21), old=date(2026, 8, 20)) == diff


@pytest.mark.parametrize(("query", "labels"), [
    ("Xique-Xique/BA", ["Xique-Xique/BA"]),
    ("xique xique ba", ["Xique-Xique/BA"]),
    ("XIQUE-XIQUE", ["Xique-Xique/BA"]),
    ("xiquexique", ["Xique-Xique/BA"]),
    ("Acrelândia - AC", ["Acrelândia/AC"]),
    ("acrelandia", ["Acrelândia/AC"]),
    ("Paraíso das Águas", ["Paraiso das Aguas/MS"]),
    ("paraiso das aguas ms", ["Paraiso das Aguas/MS"]),
    ("olho dagua das flores", ["Olho d'Água das Flores/AL"]),
    ("Sento Sé", ["Sento Sé/BA"]),  # ends with "se", which is also a UF
    ("sento se/ba", ["Sento Sé/BA"]),
    ("Bom Jesus (PI)", ["Bom Jesus/PI"]),
    ("bom jesus do piauí", ["Bom Jesus/PI"]),
    ("Prefeitura Municipal de Sobral", ["Sobral/CE"]),
    ("2933604", ["Xique-Xique/BA"]),
    ("293360", ["Xique-Xique/BA"]),  # without the check digit
    ("São Paulo", ["São Paulo/SP"]),  # the município before the state
    ("estado de são paulo", ["São Paulo"]),
    ("Maranhão", ["Maranhão"]),
    ("Brasília", ["Distrito Federal"]),
])
def test_municipios_are_found(db: Database, query: str, labels: list[str]) -> None:
    resolution = resolve_ente(db, query)
    assert resolution.status == "found", resolution
    assert [c.label for c in resolution.candidates] == labels


def test_ambiguous_names_return_every_candidate_with_its_uf(db: Database) -> None:
    resolution = resolve_ente(db, "Bom Jesus")
    assert resolution.status == "ambiguous" and resolution.ente is None
    assert [(c.label, c.ibge) for c in resolution.candidates] == [
        ("Bom Jesus/PB", "2502201"), ("Bom Jesus/PI", "2201903"), ("Bom Jesus/RN", "2401701"),
        ("Bom Jesus/RS", "4302303"), ("Bom Jesus/SC", "4202537")]
    assert [c.uf for c in resolve_ente(db, "cruzeiro do sul").candidates] == ["AC", "PR", "RS"]


def test_misses_suggest_close_names(db: Database) -> None:
    typo = resolve_ente(db, "Acrelandya")
    assert typo.status == "suggestions" and typo.candidates[0].label == "Acrelândia/AC"
    assert resolve_ente(db, "xique xique pi").status in ("suggestions", "not_found")
    assert resolve_ente(db, "zzzz qqqq").status == "not_found"
    assert resolve_ente(db, "").status == "not_found"
    assert resolve_ente(db, "9999999").status == "not_found"
    assert resolve_ente(db, "11.111.111/1111-11").status == "invalid_cnpj"


def test_the_situation_of_one_municipio(db: Database) -> None:
    now = situation(db, "1200013")  # Acrelândia
    assert (now.ente.label, now.snapshot_date) == ("Acrelândia/AC", date(2026, 8, 21))
    assert [i.code for i in now.a_comprovar] == ["1.1", "1.5", "3.1.1", "3.2.1", "3.2.2",
                                                 "3.2.3", "3.2.4", "3.4.1", "3.5", "5.3"]
    assert now.a_comprovar[0].title.startswith("Tributos federais")
    assert [i.code for i in now.desabilitados] == ["1.3"] and not now.vencidos
    assert [(i.code, i.valid_until) for i in now.expiring(30)] == [("4.2", date(2026, 9, 16))]
    assert expiring_items(db, "1200013", days=10) == []
    assert situation(db, "1200013", on=date(2026, 8, 20)).snapshot_date == date(2026, 8, 20)
    with pytest.raises(SnapshotNotFoundError):
        situation(db, "1200013", on=date(2026, 8, 1))
    with pytest.raises(EnteNotFoundError):
        situation(db, "9999999")


def test_changes_of_one_municipio_are_by_status_not_date_text(db: Database) -> None:
    miranorte = ente_diff(db, "1713304")
    assert (miranorte.previous_date, miranorte.snapshot_date) == (date(2026, 8, 20),
                                                                  date(2026, 8, 21))
    assert [(c.code, c.change) for c in miranorte.changes] == [("4.2", Change.NOVA_PENDENCIA)]
    # Xique-Xique's daily items went from "20/08/26" to "21/08/26": no change at all.
    assert ente_diff(db, "2933604").changes == []


@pytest.fixture()
def switched_off(tmp_path: Path) -> Iterator[Database]:
    """20/08 rewritten with 1.3 proven for every município, then the real 21/08 (where 1.3
    is Desabilitado for all): 1.3 is switched off for everyone from one day to the next."""
    original = real(PREVIOUS).read_bytes().decode("latin-1")
    lines = original.split("\r\n")
    column = lines[3].split(";").index('"1.3"')
    for n in range(4, len(lines)):
        cells = lines[n].split(";")
        if len(cells) > column:
            assert cells[column] == '"Desabilitado"'
            cells[column] = '"20/08/26"'
            lines[n] = ";".join(cells)
    previous = tmp_path / "cauc-municipios-2026-08-20-fgts.csv"
    previous.write_bytes("\r\n".join(lines).encode("latin-1"))
    with fresh_database("sqlite", tmp_path) as database:
        load_file(database, previous)
        load_file(database, real(LATEST))
        yield database


def test_an_item_switched_off_for_everyone_is_one_event(switched_off: Database) -> None:
    diff = snapshot_diff(switched_off)
    assert [(e.item, e.direction, e.status, e.entes, e.of) for e in diff.events] == [
        ("1.3", "passou_a", Status.DESABILITADO, 5569, 5569)]
    assert diff.changes == 274 + 5569 and diff.by_change[Change.DESABILITADO] == 5569
    # Per ente it is not news: the ente's diff and alert say it once, as a general note.
    xique = ente_diff(switched_off, "2933604")
    assert xique.changes == [] and [e.item for e in xique.events] == ["1.3"]
    miranorte = ente_diff(switched_off, "1713304")
    assert [c.code for c in miranorte.changes] == ["4.2"]
    assert [e.item for e in miranorte.events] == ["1.3"]
    assert subscribe(switched_off, "2933604", "telegram", "42")  # Xique-Xique: no own change
    [alert] = alerts_for_snapshot(switched_off, date(2026, 8, 21))
    assert alert.text.count("1.3") == 1
    assert ("- o item 1.3 (Contribuições para o FGTS) passou a desabilitado para todos os "
            "municípios") in alert.text
    assert "Outras mudanças" not in alert.text and "Novas pendências" not in alert.text
