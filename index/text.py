"""Small text helpers shared by validation, chunking and answers."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s.]")


def fold(text: str) -> str:
    """Lower-case, strip accents and collapse whitespace: 'Previdência ' -> 'previdencia'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()


def question_key(text: str) -> str:
    """The key under which two questions count as duplicates (punctuation ignored)."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", fold(text))).strip()


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
