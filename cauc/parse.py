"""Parsing CAUC files (no database): encoding, layout, preamble, header, cells.

Two layouts are recognised by their first line:

- ``dados_abertos``: the open-data file "Relatório de Situação de Vários Entes"
  (municipal or states file), one row per ente keyed by IBGE code::

      "Data da Pesquisa: 21/08/2026"
      "Tipo de Ente: Municípios"
      "Abrangência: CNPJ principal dos Entes Federados"
      "UF";"Nome do Ente Federado";"Código IBGE";...;"Fonte";"1.1";...;"5.7"

  optionally followed, after a blank line, by the item legend
  (``"Código do Itens";"Exigência"``), which ends the data.
- ``orgaos``: the web export "Situação dos Órgãos e Entidades do Ente Federativo" of one
  ente, one row per órgão CNPJ; only the ente's own row (its CNPJ principal) becomes
  statuses, the other órgãos with pendências are kept in the snapshot's metadata.

Item columns are found by header name (``1.1``, ``3.2.3``...), never by position, and
every cell must be a known value, or the whole file is refused naming the line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cauc.errors import CaucFormatError
from cauc.status import PENDING, Status
from cauc.text import UF_NAMES, cnpj_digits, fold

DADOS_ABERTOS = "dados_abertos"
ORGAOS = "orgaos"

MUNICIPIOS = "municipios"
ESTADOS = "estados"

_ITEM_COLUMN = re.compile(r"\d+(?:\.\d+)*")
_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4}|\d{2})")
_ENTE_LINE = re.compile(r"(?P<cnpj>[\w./-]+)\s+-\s+(?P<name>.+)")

# Non-item columns of the open-data layout (folded header -> field).
_DADOS_ABERTOS_COLUMNS = {
    "uf": "uf", "nome do ente federado": "name", "codigo ibge": "ibge",
    "codigo siafi": "siafi", "regiao": "region", "populacao": "population", "fonte": "fonte",
}
_DADOS_ABERTOS_REQUIRED = ("uf", "name", "ibge")
_ORGAOS_COLUMNS = {
    "cnpj": "cnpj", "nome": "name", "tipo de administracao": "tipo",
    "regularidade fiscal": "regularidade",
}
_REGIONS = {"N", "NE", "SE", "S", "CO"}

# (ibge, item, status, valid_until); for the órgãos layout ibge is "" until loaded.
StatusRow = tuple[str, str, str, date | None]


@dataclass(frozen=True)
class ParsedEnte:
    ibge: str
    name: str
    uf: str
    region: str | None
    population: int | None
    siafi: str | None


@dataclass
class ParsedSnapshot:
    source: str
    sha256: str
    encoding: str
    layout: str  # dados_abertos | orgaos
    kind: str  # municipios | estados | orgaos
    date: date
    item_codes: list[str]
    entes: list[ParsedEnte] = field(default_factory=list)
    statuses: list[StatusRow] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # Órgãos layout: which ente the file is about (resolved when loading).
    ente_cnpj: str | None = None
    ente_name: str | None = None
    ente_line: int | None = None


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM) when it decodes, else ISO-8859-1
    as published (cp1252 when the C1 range holds Windows characters)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if re.search(rb"[\x80-\x9f]", data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "iso-8859-1"


def parse_file(path: str | Path) -> ParsedSnapshot:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaucFormatError(str(path), None, f"cannot read the file ({exc.strerror})") from exc
    return parse_bytes(data, str(path))


def parse_bytes(data: bytes, source: str) -> ParsedSnapshot:
    text, encoding = decode(data)
    sha = hashlib.sha256(data).hexdigest()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    rows = _Rows(reader, source)
    first = rows.next_nonblank()
    if first is None:
        raise CaucFormatError(source, None, "the file is empty")
    line, cells = first
    head = fold(cells[0])
    if head.startswith("data da pesquisa"):
        parsed = _parse_dados_abertos(rows, first, source)
    elif head.startswith("situacao dos orgaos e entidades"):
        parsed = _parse_orgaos(rows, source)
    else:
        raise CaucFormatError(
            source, line, f"unknown layout: the file starts with {cells[0][:60]!r}, not "
            "'Data da Pesquisa: dd/mm/aaaa' (dados abertos do CAUC) nor 'Situação dos Órgãos "
            "e Entidades do Ente Federativo'")
    parsed.sha256 = sha
    parsed.encoding = encoding
    return parsed


class _Rows:
    """csv rows with their physical line numbers."""

    def __init__(self, reader: Any, source: str) -> None:
        self._reader = reader
        self.source = source

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        try:
            for row in self._reader:
                yield self._reader.line_num, row
        except csv.Error as exc:
            raise CaucFormatError(self.source, self._reader.line_num, f"bad CSV ({exc})") from exc

    def next_nonblank(self) -> tuple[int, list[str]] | None:
        for line, row in self:
            if any(c.strip() for c in row):
                return line, row
        return None

    def error(self, line: int | None, message: str) -> CaucFormatError:
        return CaucFormatError(self.source, line, message)


def _research_date(rows: _Rows, preamble: dict[str, tuple[str, int]], header_line: int
                   ) -> date:
    """The preamble's 'Data da Pesquisa' (the snapshot date), or an error naming the line."""
    if "data da pesquisa" not in preamble:
        raise rows.error(header_line, "no 'Data da Pesquisa' line before the header")
    raw_date, date_line = preamble["data da pesquisa"]
    snapshot_date = _parse_date(raw_date)
    if snapshot_date is None:
        raise rows.error(date_line, f"'Data da Pesquisa' is not a dd/mm/aaaa date: {raw_date!r}")
    return snapshot_date


def _parse_date(text: str) -> date | None:
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _cell_mapper(snapshot_date: date) -> Callable[[str], tuple[str, date | None]]:
    """cell text -> (status, valid_until); memoised (a file has a few hundred distinct
    cells); raises ValueError on an unknown value."""
    memo: dict[str, tuple[str, date | None]] = {}

    def status_of(value: str) -> tuple[str, date | None]:
        try:
            return memo[value]
        except KeyError:
            pass
        text = value.strip()
        key = fold(text)
        result: tuple[str, date | None]
        if not text:
            result = (Status.SEM_INFORMACAO, None)
        elif text == "!" or key == "a comprovar":
            result = (Status.A_COMPROVAR, None)
        elif key in ("desabilitado", "desativado"):
            result = (Status.DESABILITADO, None)
        elif text == "-":
            result = (Status.NAO_SE_APLICA, None)
        else:
            valid_until = _parse_date(text)
            if valid_until is None:
                raise ValueError(text)
            status = Status.VENCIDO if valid_until < snapshot_date else Status.COMPROVADO
            result = (status, valid_until)
        memo[value] = result
        return result

    return status_of


def _preamble_value(cells: list[str]) -> tuple[str, str] | None:
    key, sep, value = cells[0].partition(":")
    return (fold(key), value.strip()) if sep else None


def _header(rows: _Rows, line: int, cells: list[str], known: dict[str, str],
            required: tuple[str, ...]) -> tuple[dict[str, int], list[tuple[int, str]]]:
    columns: dict[str, int] = {}
    items: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, raw in enumerate(cells):
        name = raw.strip()
        if name in seen:
            raise rows.error(line, f"column {name!r} appears twice in the header")
        seen.add(name)
        if _ITEM_COLUMN.fullmatch(name):
            items.append((index, name))
        elif fold(name) in known:
            columns[known[fold(name)]] = index
        else:
            raise rows.error(line, f"unknown layout: unexpected column {name!r} in the header")
    missing = [f for f in required if f not in columns]
    if missing:
        raise rows.error(line, f"unknown layout: the header lacks {', '.join(missing)}")
    if not items:
        raise rows.error(line, "unknown layout: the header has no item columns (1.1, 1.2...)")
    return columns, items


def _parse_dados_abertos(rows: _Rows, first: tuple[int, list[str]],
                         source: str) -> ParsedSnapshot:
    preamble: dict[str, tuple[str, int]] = {}
    current: tuple[int, list[str]] | None = first
    while current is not None:
        line, cells = current
        if fold(cells[0]) == "uf" and len(cells) > 1:
            break
        pair = _preamble_value(cells) if not any(c.strip() for c in cells[1:]) else None
        if pair is None:
            raise rows.error(line, "unknown layout: expected a preamble line ('Data da "
                             "Pesquisa: ...') or the header starting with \"UF\"")
        preamble[pair[0]] = (pair[1], line)
        current = rows.next_nonblank()
    if current is None:
        raise rows.error(None, "unknown layout: no header line starting with \"UF\"")
    header_line, header = current
    snapshot_date = _research_date(rows, preamble, header_line)
    kind: str | None = None
    if "tipo de ente" in preamble:
        tipo, tipo_line = preamble["tipo de ente"]
        if fold(tipo).startswith("munic"):
            kind = MUNICIPIOS
        elif fold(tipo).startswith("estado"):
            kind = ESTADOS
        else:
            raise rows.error(tipo_line, f"unknown 'Tipo de Ente': {tipo!r}")
    columns, items = _header(rows, header_line, header, _DADOS_ABERTOS_COLUMNS,
                             _DADOS_ABERTOS_REQUIRED)
    width = len(header)
    status_of = _cell_mapper(snapshot_date)
    entes: list[ParsedEnte] = []
    statuses: list[StatusRow] = []
    seen: dict[str, int] = {}
    legend: dict[str, str] = {}
    i_uf, i_name, i_ibge = columns["uf"], columns["name"], columns["ibge"]
    i_siafi, i_region, i_pop = (columns.get("siafi"), columns.get("region"),
                                columns.get("population"))
    iterator = iter(rows)
    for line, row in iterator:
        if not row or (len(row) == 1 and not row[0].strip()):  # a blank line
            continue
        if fold(row[0]).startswith("codigo do ite"):  # the item legend ends the data
            legend = _read_legend(iterator)
            break
        if len(row) != width:
            raise rows.error(line, f"expected {width} fields as in the header, found {len(row)}")
        uf = row[i_uf].strip().upper()
        if uf not in UF_NAMES:
            raise rows.error(line, f"unknown UF {row[i_uf]!r}")
        ibge = row[i_ibge].strip()
        if not ibge.isdigit() or len(ibge) not in (2, 7):
            raise rows.error(line, f"'Código IBGE' must have 7 digits (2 for a state), "
                             f"not {row[i_ibge]!r}")
        row_kind = MUNICIPIOS if len(ibge) == 7 else ESTADOS
        if kind is None:
            kind = row_kind
        elif row_kind != kind:
            raise rows.error(line, f"IBGE code {ibge} does not belong to a file of {kind}")
        if ibge in seen:
            raise rows.error(line, f"IBGE code {ibge} already on line {seen[ibge]}")
        seen[ibge] = line
        name = row[i_name].strip()
        if not name:
            raise rows.error(line, "empty 'Nome do Ente Federado'")
        # Metadata, not a status: 0 and non-numbers (DF has "None") mean unknown.
        raw_pop = row[i_pop].strip() if i_pop is not None else ""
        population = int(raw_pop) or None if raw_pop.isdigit() else None
        region = row[i_region].strip().upper() if i_region is not None else ""
        if region and region not in _REGIONS:
            raise rows.error(line, f"unknown 'Região' {region!r}")
        siafi = row[i_siafi].strip() if i_siafi is not None else ""
        entes.append(ParsedEnte(ibge, name, uf, region or None, population, siafi or None))
        for index, code in items:
            try:
                status, valid_until = status_of(row[index])
            except ValueError:
                raise rows.error(line, f"unknown value {row[index]!r} in column {code} "
                                 f"({name})") from None
            statuses.append((ibge, code, status, valid_until))
    if not entes:
        raise rows.error(None, "no data rows after the header")
    meta: dict[str, Any] = {k: v for k, (v, _) in preamble.items() if k != "data da pesquisa"}
    if legend:
        meta["legend"] = legend
    return ParsedSnapshot(source=source, sha256="", encoding="", layout=DADOS_ABERTOS,
                          kind=kind or MUNICIPIOS, date=snapshot_date,
                          item_codes=[code for _, code in items], entes=entes,
                          statuses=statuses, meta=meta)


def _read_legend(iterator: Iterator[tuple[int, list[str]]]) -> dict[str, str]:
    legend: dict[str, str] = {}
    for _line, row in iterator:
        cells = [c.strip() for c in row]
        if len(cells) >= 2 and _ITEM_COLUMN.fullmatch(cells[0]):
            legend[cells[0]] = cells[1]
    return legend


def _parse_orgaos(rows: _Rows, source: str) -> ParsedSnapshot:
    preamble: dict[str, tuple[str, int]] = {}
    current = rows.next_nonblank()
    while current is not None and fold(current[1][0]) != "cnpj":
        line, cells = current
        pair = _preamble_value(cells)
        if pair is None or any(c.strip() for c in cells[1:]):
            raise rows.error(line, "unknown layout: expected a preamble line or the header "
                             "starting with \"CNPJ\"")
        preamble[pair[0]] = (pair[1], line)
        current = rows.next_nonblank()
    if current is None:
        raise rows.error(None, "unknown layout: no header line starting with \"CNPJ\"")
    header_line, header = current
    snapshot_date = _research_date(rows, preamble, header_line)
    if "ente federativo" not in preamble:
        raise rows.error(header_line, "no 'Ente Federativo: <CNPJ> - <nome>' line")
    raw_ente, ente_line = preamble["ente federativo"]
    match = _ENTE_LINE.fullmatch(raw_ente)
    if not match or len(cnpj_digits(match["cnpj"])) != 14:
        raise rows.error(ente_line, f"'Ente Federativo' is not '<CNPJ> - <nome>': {raw_ente!r}")
    ente_cnpj, ente_name = cnpj_digits(match["cnpj"]), match["name"].strip()
    columns, items = _header(rows, header_line, header, _ORGAOS_COLUMNS,
                             ("cnpj", "name", "tipo", "regularidade"))
    width = len(header)
    status_of = _cell_mapper(snapshot_date)
    statuses: list[StatusRow] = []
    pendentes: list[dict[str, Any]] = []
    orgaos = 0
    iterator = iter(rows)
    for line, row in iterator:
        if not any(c.strip() for c in row):
            continue
        if fold(row[0]).startswith("codigo do ite"):
            break
        if len(row) != width:
            raise rows.error(line, f"expected {width} fields as in the header, found {len(row)}")
        cnpj = cnpj_digits(row[columns["cnpj"]])
        if len(cnpj) != 14:
            raise rows.error(line, f"not a CNPJ: {row[columns['cnpj']]!r}")
        tipo = fold(row[columns["tipo"]])
        if tipo not in ("direta", "indireta"):
            raise rows.error(line, f"unknown value {row[columns['tipo']]!r} in column "
                             "'Tipo de Administração'")
        if fold(row[columns["regularidade"]]) not in ("comprovados", "a comprovar"):
            raise rows.error(line, f"unknown value {row[columns['regularidade']]!r} in column "
                             "'Regularidade Fiscal'")
        orgaos += 1
        row_statuses: list[StatusRow] = []
        for index, code in items:
            try:
                status, valid_until = status_of(row[index])
            except ValueError:
                raise rows.error(line, f"unknown value {row[index]!r} in column {code}") from None
            row_statuses.append(("", code, status, valid_until))
        if cnpj == ente_cnpj:
            statuses = row_statuses
        else:
            pending = [code for _, code, status, _ in row_statuses if status in PENDING]
            if pending:
                pendentes.append({"cnpj": cnpj, "nome": row[columns["name"]].strip(),
                                  "tipo": tipo, "itens": pending})
    if not statuses:
        raise rows.error(ente_line, f"no row for the ente's own CNPJ {raw_ente.split()[0]}")
    meta: dict[str, Any] = {k: v for k, (v, _) in preamble.items()
                            if k not in ("data da pesquisa", "observacao")}
    meta.update(orgaos=orgaos, orgaos_pendentes=pendentes)
    return ParsedSnapshot(source=source, sha256="", encoding="", layout=ORGAOS, kind=ORGAOS,
                          date=snapshot_date, item_codes=[code for _, code in items],
                          statuses=statuses, meta=meta, ente_cnpj=ente_cnpj,
                          ente_name=ente_name, ente_line=ente_line)
