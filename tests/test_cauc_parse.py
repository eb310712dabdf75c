"""Parsing CAUC files without a database: real files, the shipped fixtures, and files
broken on purpose (each refused naming its line)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from cauc.errors import CaucFormatError
from cauc.parse import ESTADOS, MUNICIPIOS, ORGAOS, ParsedSnapshot, parse_bytes, parse_file
from cauc.status import Status
from tests.test_cauc_data import LATEST, STATES, fixture, real

LEGEND = ('\r\n"Código do Itens";"Exigência"\r\n"1.1";"Regularidade quanto a Tributos"\r\n'
          '"1.2";"Regularidade quanto a Precatórios"\r\n')


@pytest.fixture(scope="module")
def latest() -> ParsedSnapshot:
    return parse_file(real(LATEST))


def statuses_of(parsed: ParsedSnapshot, ibge: str) -> dict[str, tuple[str, date | None]]:
    return {item: (status, until) for i, item, status, until in parsed.statuses if i == ibge}


def test_real_municipal_file(latest: ParsedSnapshot) -> None:
    assert (latest.kind, latest.date, latest.encoding) == (MUNICIPIOS, date(2026, 8, 21),
                                                           "iso-8859-1")
    assert len(latest.entes) == 5569 and len(latest.item_codes) == 28
    assert len(latest.statuses) == 5569 * 28
    with_bang = {ibge for ibge, _, status, _ in latest.statuses if status == Status.A_COMPROVAR}
    assert len(with_bang) == 3226
    per_item = Counter(item for _, item, status, _ in latest.statuses
                       if status == Status.A_COMPROVAR)
    assert (per_item["3.2.3"], per_item["1.5"], per_item["1.1"], per_item["3.2.4"]) == (
        1815, 1234, 993, 921)
    assert per_item.most_common(4) == [("3.2.3", 1815), ("1.5", 1234), ("1.1", 993),
                                       ("3.2.4", 921)]
    disabled = {ibge for ibge, item, status, _ in latest.statuses
                if item == "1.3" and status == Status.DESABILITADO}
    assert len(disabled) == 5569
    ente = next(e for e in latest.entes if e.ibge == "5006275")
    assert (ente.name, ente.uf, ente.population) == ("PARAISO DAS AGUAS", "MS", None)  # 0


def test_real_states_file() -> None:
    parsed = parse_file(real(STATES))
    assert (parsed.kind, parsed.date, len(parsed.entes)) == (ESTADOS, date(2025, 11, 3), 27)
    assert {"4.3", "5.8"} <= set(parsed.item_codes) and len(parsed.item_codes) == 30
    df = next(e for e in parsed.entes if e.uf == "DF")
    assert (df.ibge, df.name, df.population) == ("53", "Distrito Federal", None)  # "None"


def test_the_legend_table_ends_the_data(latest: ParsedSnapshot, tmp_path: Path) -> None:
    path = tmp_path / "com-legenda.csv"
    path.write_bytes(real(LATEST).read_bytes() + LEGEND.encode("latin-1"))
    parsed = parse_file(path)
    assert len(parsed.entes) == 5569 and parsed.statuses == latest.statuses
    assert parsed.meta["legend"] == {"1.1": "Regularidade quanto a Tributos",
                                     "1.2": "Regularidade quanto a Precatórios"}


def test_latin1_and_utf8_fixtures_read_the_same_names() -> None:
    latin1 = parse_file(fixture("municipios-2026-09-15-latin1.csv"))
    utf8 = parse_file(fixture("municipios-2026-09-16-utf8.csv"))
    assert (latin1.encoding, utf8.encoding) == ("iso-8859-1", "utf-8")
    assert [e.name for e in latin1.entes] == [e.name for e in utf8.entes]
    assert "Olho d'Água das Flores" in [e.name for e in latin1.entes]
    assert len(latin1.entes) == 15 and set(latin1.meta["legend"]) == {"1.1", "1.3", "3.2.3"}
    assert latin1.meta["tipo de ente"] == "Municípios"


def test_a_utf8_bom_is_fine() -> None:
    data = fixture("municipios-2026-09-16-utf8.csv").read_bytes()
    parsed = parse_bytes(b"\xef\xbb\xbf" + data, "bom.csv")
    assert parsed.encoding == "utf-8-sig" and parsed.entes[0].name == "Acrelândia"


def test_cell_values_map_to_statuses() -> None:
    parsed = parse_file(fixture("municipios-2026-09-15-latin1.csv"))
    acre = statuses_of(parsed, "1200013")
    assert acre["1.1"] == (Status.A_COMPROVAR, None)
    assert acre["1.2"] == (Status.COMPROVADO, date(2026, 9, 15))  # re-checked daily
    assert acre["1.3"] == (Status.DESABILITADO, None)
    assert acre["4.2"] == (Status.COMPROVADO, date(2026, 10, 3))
    assert statuses_of(parsed, "4117909")["4.2"] == (Status.VENCIDO, date(2026, 9, 10))
    assert statuses_of(parsed, "2705705")["5.3"] == (Status.SEM_INFORMACAO, None)


def test_item_columns_are_found_by_name_not_position(tmp_path: Path) -> None:
    original = fixture("municipios-2026-09-15-latin1.csv")
    lines = original.read_bytes().decode("latin-1").split("\r\n")
    swapped = []
    for number, line in enumerate(lines):
        if 3 <= number <= 18:  # header and the 15 rows: swap the 1.1 and 5.7 columns
            cells = line.split(";")
            cells[7], cells[-1] = cells[-1], cells[7]
            line = ";".join(cells)
        swapped.append(line)
    path = tmp_path / "reordenado.csv"
    path.write_bytes("\r\n".join(swapped).encode("latin-1"))
    parsed, reference = parse_file(path), parse_file(original)
    assert parsed.item_codes[0] == "5.7" and parsed.item_codes[-1] == "1.1"
    assert sorted(parsed.statuses) == sorted(reference.statuses)


def test_an_unknown_cell_value_is_refused_naming_the_line() -> None:
    with pytest.raises(CaucFormatError) as caught:
        parse_file(fixture("celula-desconhecida.csv"))
    assert caught.value.line == 10
    assert "celula-desconhecida.csv:10: unknown value 'OK' in column 2.1.1 (Sobral)" in str(
        caught.value)


def test_an_unknown_layout_is_refused_on_line_1() -> None:
    with pytest.raises(CaucFormatError, match=r"layout-desconhecido.csv:1: unknown layout"):
        parse_file(fixture("layout-desconhecido.csv"))


def _mutated(tmp_path: Path, line_number: int, old: str, new: str) -> Path:
    lines = fixture("municipios-2026-09-15-latin1.csv").read_bytes().decode("latin-1")
    rows = lines.split("\r\n")
    assert old in rows[line_number - 1], rows[line_number - 1]
    rows[line_number - 1] = rows[line_number - 1].replace(old, new, 1)
    path = tmp_path / "mutado.csv"
    path.write_bytes("\r\n".join(rows).encode("latin-1"))
    return path


@pytest.mark.parametrize(("line", "old", "new", "message"), [
    (4, '"Fonte";', '"Fonte";"Observação";', "unexpected column 'Observação'"),
    (4, '"Código IBGE"', '"Código"', "unexpected column 'Código'"),
    (4, '"5.7"', '"5.6"', "column '5.6' appears twice"),
    (1, "Data da Pesquisa", "Data", "unknown layout: the file starts with 'Data:"),
    (2, "Municípios", "Consórcios", "unknown 'Tipo de Ente'"),
    (5, '"1200013"', '"12000"', "'Código IBGE' must have 7 digits"),
    (6, '"2705705"', '"1200013"', "IBGE code 1200013 already on line 5"),
    (7, '"AM";', '"XX";', "unknown UF 'XX'"),
    (9, '"!";', '"31/02/26";', "unknown value '31/02/26' in column 3.5 (Xique-Xique)"),
    (12, ';"30/01/27"', '', "expected 35 fields as in the header, found 34"),
    (11, '"!"', '"Pendente"', "unknown value 'Pendente' in column 1.5 (PARAISO DAS AGUAS)"),
])
def test_broken_files_are_refused_naming_the_line(tmp_path: Path, line: int, old: str,
                                                  new: str, message: str) -> None:
    path = _mutated(tmp_path, line, old, new)
    with pytest.raises(CaucFormatError) as caught:
        parse_file(path)
    assert message in caught.value.message
    assert caught.value.line == line, caught.value


def test_empty_and_headerless_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "vazio.csv").write_bytes(b"")
    with pytest.raises(CaucFormatError, match="the file is empty"):
        parse_file(tmp_path / "vazio.csv")
    (tmp_path / "so-preambulo.csv").write_bytes(b'"Data da Pesquisa: 21/08/2026"\r\n')
    with pytest.raises(CaucFormatError, match='no header line starting with "UF"'):
        parse_file(tmp_path / "so-preambulo.csv")
    with pytest.raises(CaucFormatError, match="cannot read the file"):
        parse_file(tmp_path / "nao-existe.csv")


def test_the_per_orgao_export() -> None:
    parsed = parse_file(fixture("orgaos-maranhao-2026-09-02.csv"))
    assert (parsed.kind, parsed.date, parsed.ente_cnpj, parsed.ente_name, parsed.ente_line) == (
        ORGAOS, date(2026, 9, 2), "06354468000160", "Maranhão", 3)
    own = {item: (status, until) for _, item, status, until in parsed.statuses}
    assert len(own) == 30
    assert own["1.5"] == (Status.A_COMPROVAR, None)  # "A Comprovar"
    assert own["1.3"] == (Status.DESABILITADO, None)  # "Desativado"
    assert own["1.1"] == (Status.COMPROVADO, date(2027, 2, 7))  # 4-digit year
    assert parsed.meta["orgaos"] == 3
    assert parsed.meta["orgaos_pendentes"] == [
        {"cnpj": "11222333000181", "nome": "FUNDO ESTADUAL DE EXEMPLO", "tipo": "indireta",
         "itens": ["1.1"]}]
