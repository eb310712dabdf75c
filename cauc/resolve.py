"""From what a gestor types to an ente: name (accents, case, punctuation optional), name
with UF ("Xique-Xique/BA", "xique xique ba", "Acrelândia - AC", "Bom Jesus do Piauí"),
IBGE code (7 digits, or 6 without the check digit) or CNPJ (when the ente has one stored).

Ambiguous names return every candidate with its UF so the bot can ask back; names that
match nothing return close names as suggestions.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cauc.models import Ente
from cauc.text import (
    UF_BY_FOLDED_NAME,
    UF_NAMES,
    cnpj_digits,
    compact,
    display_name,
    fold,
    is_valid_cnpj,
)
from iara.db import Database

MUNICIPIO = "municipio"
ESTADO = "estado"

ResolutionStatus = Literal["found", "ambiguous", "suggestions", "not_found", "invalid_cnpj"]

_NUMERIC = re.compile(r"[\d\s./-]+")
_CNPJ_LIKE = re.compile(r"[0-9A-Za-z]{2}\.?[0-9A-Za-z]{3}\.?[0-9A-Za-z]{3}/?[0-9A-Za-z]{4}-?\d{2}")
# What people put before a name: "prefeitura municipal de X", "município de X".
_PREFIXES = ("prefeitura municipal de ", "prefeitura municipal do ",
             "prefeitura municipal da ", "prefeitura de ", "prefeitura do ", "prefeitura da ",
             "prefeitura ", "municipio de ", "municipio do ", "municipio da ", "municipio ",
             "cidade de ", "cidade do ", "cidade da ")
_STATE_PREFIXES = ("governo do estado do ", "governo do estado da ", "governo do estado de ",
                   "estado do ", "estado da ", "estado de ")
_ALIASES = {"brasilia": "distrito federal"}  # Brasília is the DF ente in the CAUC files
_TRAILING_CONNECTORS = (" do", " da", " de", " em", " no", " na")
MAX_SUGGESTIONS = 8


@dataclass(frozen=True)
class EnteRef:
    ibge: str
    name: str  # as in the newest CAUC file
    uf: str
    kind: str  # municipio | estado
    cnpj: str | None = None

    @property
    def label(self) -> str:
        """"Xique-Xique/BA"; a state by its name ("Maranhão")."""
        if self.kind == ESTADO:
            return display_name(self.name)
        return f"{display_name(self.name)}/{self.uf}"


@dataclass(frozen=True)
class Resolution:
    query: str
    status: ResolutionStatus
    candidates: list[EnteRef] = field(default_factory=list)

    @property
    def ente(self) -> EnteRef | None:
        """The ente when exactly one matched."""
        return self.candidates[0] if self.status == "found" else None


def ente_ref(ente: Ente) -> EnteRef:
    return EnteRef(ente.ibge, ente.name, ente.uf, ente.kind, ente.cnpj)


def _sorted(entes: list[Ente]) -> list[EnteRef]:
    return [ente_ref(e) for e in sorted(entes, key=lambda e: (e.kind != MUNICIPIO, e.uf, e.ibge))]


def _outcome(query: str, entes: list[Ente]) -> Resolution:
    if not entes:
        return Resolution(query, "not_found")
    return Resolution(query, "found" if len(entes) == 1 else "ambiguous", _sorted(entes))


def _name_splits(key: str) -> tuple[list[tuple[str, str | None]], tuple[str, ...]]:
    """(name, uf) readings of a folded query, most literal first, and the kinds to try."""
    kinds: tuple[str, ...] = (MUNICIPIO, ESTADO)
    for prefix in _STATE_PREFIXES:
        if key.startswith(prefix):
            key, kinds = key[len(prefix):], (ESTADO,)
            break
    else:
        for prefix in _PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key, kinds = key[len(prefix):], (MUNICIPIO,)
                break
    key = _ALIASES.get(key, key)
    splits: list[tuple[str, str | None]] = [(key, None)]
    tokens = key.split()
    if len(tokens) > 1 and tokens[-1].upper() in UF_NAMES:
        splits.append((" ".join(tokens[:-1]), tokens[-1].upper()))
    for state_key, uf in UF_BY_FOLDED_NAME:
        if key.endswith(" " + state_key):
            rest = key[: -len(state_key) - 1]
            for connector in _TRAILING_CONNECTORS:
                if rest.endswith(connector) and len(rest) > len(connector):
                    rest = rest[: -len(connector)]
                    break
            splits.append((rest, uf))
            break
    return splits, kinds


def _first_match(rows: list[Ente], splits: list[tuple[str, str | None]], kinds: tuple[str, ...],
                 *, spaceless: bool = False) -> list[Ente]:
    """Entes of the first (name, uf) reading that matches, municípios before states."""
    for name, uf in splits:
        for kind in kinds:
            found = [e for e in rows
                     if e.kind == kind and (uf is None or e.uf == uf)
                     and (compact(e.name_key) == compact(name) if spaceless
                          else e.name_key == name)]
            if found:
                return found
    return []


def resolve_in_session(session: Session, text: str) -> Resolution:
    query = text.strip()
    if not query:
        return Resolution(query, "not_found")
    if _NUMERIC.fullmatch(query):
        return _by_number(session, query, re.sub(r"\D", "", query))
    if _CNPJ_LIKE.fullmatch(query) and is_valid_cnpj(query):  # alphanumeric CNPJ
        return _outcome(query, list(session.scalars(
            select(Ente).where(Ente.cnpj == cnpj_digits(query)))))
    key = fold(query)
    if not key:
        return Resolution(query, "not_found")
    splits, kinds = _name_splits(key)
    names = {name for name, _ in splits}
    rows = list(session.scalars(select(Ente).where(Ente.name_key.in_(names))))
    found = _first_match(rows, splits, kinds)
    if not found:  # "xiquexique", "olho dagua das flores"
        compacts = {compact(name) for name in names}
        rows = list(session.scalars(
            select(Ente).where(func.replace(Ente.name_key, " ", "").in_(compacts))))
        found = _first_match(rows, splits, kinds, spaceless=True)
    if found:
        return _outcome(query, found)
    return _suggest(session, query, splits, kinds)


def _by_number(session: Session, query: str, digits: str) -> Resolution:
    if len(digits) == 14:
        if not is_valid_cnpj(digits):
            return Resolution(query, "invalid_cnpj")
        condition = Ente.cnpj == digits
    elif len(digits) in (7, 2):
        condition = Ente.ibge == digits
    elif len(digits) == 6:  # IBGE code without its check digit
        condition = (Ente.kind == MUNICIPIO) & (func.substr(Ente.ibge, 1, 6) == digits)
    else:
        return Resolution(query, "not_found")
    return _outcome(query, list(session.scalars(select(Ente).where(condition))))


def _suggest(session: Session, query: str, splits: list[tuple[str, str | None]],
             kinds: tuple[str, ...]) -> Resolution:
    """Close names (typos) and longer names starting with the query ("santa rita")."""
    rows = session.execute(select(Ente.ibge, Ente.name, Ente.uf, Ente.kind, Ente.cnpj,
                                  Ente.name_key).where(Ente.kind.in_(kinds))).all()
    scored: dict[str, tuple[float, str, EnteRef]] = {}
    matcher = difflib.SequenceMatcher(autojunk=False)
    for name, uf in splits:
        if not name:
            continue
        matcher.set_seq2(name)
        for ibge, ente_name, ente_uf, kind, cnpj, key in rows:
            if uf is not None and ente_uf != uf:
                continue
            if key.startswith(name + " "):
                score = 0.9
            else:
                matcher.set_seq1(key)
                if matcher.real_quick_ratio() < 0.8 or matcher.quick_ratio() < 0.8:
                    continue
                score = matcher.ratio()
                if score < 0.8:
                    continue
            if ibge not in scored or score > scored[ibge][0]:
                scored[ibge] = (score, key, EnteRef(ibge, ente_name, ente_uf, kind, cnpj))
    best = sorted(scored.values(), key=lambda p: (-p[0], p[1], p[2].uf))
    refs = [ref for _, _, ref in best[:MAX_SUGGESTIONS]]
    return Resolution(query, "suggestions" if refs else "not_found", refs)


def resolve_ente(db: Database, text: str) -> Resolution:
    """Resolve what a gestor typed (name, name + UF, IBGE code or CNPJ) to entes.

    ``status`` is ``found`` (one ente: ``.ente``), ``ambiguous`` (several with that name:
    ask for the UF), ``suggestions`` (nothing matched; close or longer names), ``not_found``
    or ``invalid_cnpj`` (14 digits whose check digits are wrong).
    """
    with db.session() as session:
        return resolve_in_session(session, text)


def names_no_ente(db: Database, text: str) -> bool | None:
    """Whether ``text`` is like no ente of the loaded registry at all (``not_found``: no
    match, no suggestion); None while no ente is loaded: the registry cannot tell."""
    with db.session() as session:
        if session.scalar(select(Ente.ibge).limit(1)) is None:
            return None
        return resolve_in_session(session, text).status == "not_found"


def get_ente(db: Database, ibge: str) -> EnteRef | None:
    with db.session() as session:
        ente = session.get(Ente, ibge)
        return ente_ref(ente) if ente else None
