"""Text helpers: accent folding, UFs, CNPJ check digits, item titles and order."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from index.cauc import BY_CODE, ITEMS

UF_NAMES: dict[str, str] = {
    "AC": "Acre", "AL": "Alagoas", "AM": "Amazonas", "AP": "Amapá", "BA": "Bahia",
    "CE": "Ceará", "DF": "Distrito Federal", "ES": "Espírito Santo", "GO": "Goiás",
    "MA": "Maranhão", "MG": "Minas Gerais", "MS": "Mato Grosso do Sul", "MT": "Mato Grosso",
    "PA": "Pará", "PB": "Paraíba", "PE": "Pernambuco", "PI": "Piauí", "PR": "Paraná",
    "RJ": "Rio de Janeiro", "RN": "Rio Grande do Norte", "RO": "Rondônia", "RR": "Roraima",
    "RS": "Rio Grande do Sul", "SC": "Santa Catarina", "SE": "Sergipe", "SP": "São Paulo",
    "TO": "Tocantins",
}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower case, no accents, punctuation as single spaces: "Olho d'Água" -> "olho d agua"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(_NON_ALNUM.sub(" ", plain).split())


def compact(key: str) -> str:
    """A folded key without spaces: "xiquexique" and "xique xique" meet here."""
    return key.replace(" ", "")


# Folded UF names, longest first ("mato grosso do sul" before "mato grosso").
UF_BY_FOLDED_NAME: list[tuple[str, str]] = sorted(
    ((fold(name), uf) for uf, name in UF_NAMES.items()), key=lambda p: -len(p[0]))

_CONNECTORS = {"do", "da", "de", "dos", "das", "e"}


def display_name(name: str) -> str:
    """Upper-case names of the files ("PARAISO DAS AGUAS") in title case for people."""
    if not name.isupper():
        return name
    words = name.lower().split()
    return " ".join(w if i and w in _CONNECTORS else w.capitalize()
                    for i, w in enumerate(words))


# --- CNPJ -----------------------------------------------------------------------------
_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_SHAPE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")


def _check_digit(base: str) -> int:
    # Values are ord(c) - 48: digits as themselves, and letters too (alphanumeric CNPJ).
    total = sum((ord(c) - 48) * w for c, w in zip(base, _WEIGHTS[-len(base):], strict=True))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def cnpj_digits(text: str) -> str:
    """The 14 characters of a CNPJ without its mask ("06.354.468/0001-60")."""
    return re.sub(r"[\s./-]", "", text).upper()


def is_valid_cnpj(text: str) -> bool:
    """Check digits of a CNPJ, masked or not (numeric or the new alphanumeric form)."""
    value = cnpj_digits(text)
    if not _CNPJ_SHAPE.fullmatch(value) or len(set(value)) == 1:
        return False
    return (_check_digit(value[:12]) == int(value[12])
            and _check_digit(value[:13]) == int(value[13]))


def format_cnpj(value: str) -> str:
    v = cnpj_digits(value)
    return f"{v[:2]}.{v[2:5]}.{v[5:8]}/{v[8:12]}-{v[12:]}"


# --- Items ----------------------------------------------------------------------------
_ORDER = {item.code: i for i, item in enumerate(ITEMS)}


def item_title(code: str) -> str:
    item = BY_CODE.get(code)
    return item.title if item else f"Item {code}"


def item_sort_key(code: str) -> tuple[int, tuple[int, ...]]:
    """Catalogue order; codes the catalogue does not know yet go last, numerically."""
    parts = tuple(int(p) for p in code.split(".") if p.isdigit())
    return (_ORDER.get(code, len(_ORDER)), parts)
