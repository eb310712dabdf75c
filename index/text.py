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


_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)]+)\)")


def plain_text(markdown: str) -> str:
    """Markdown passage -> readable plain text for any channel.

    Bold markers go, links become "texto (url)", table rows become "a · b · c" lines
    (the separator row is dropped), list markers and paragraphs are kept.
    """
    lines = []
    for line in markdown.splitlines():
        if _TABLE_RULE.match(line):
            continue
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            line = " · ".join(c for c in cells if c)
        line = _LINK.sub(r"\1 (\2)", _BOLD.sub(r"\2", line))
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_CPF = re.compile(r"(?<![\d./-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\d./-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\d])(?:\+?55\s?)?(?:\(?\d{2}\)?\s?)?9?\d{4}[-\s]?\d{4}(?![\d])")


# What follows "senha", "password" or "PIN" (and "do <sistema>"): after ":" or "=" any
# word; otherwise a word with a digit or a symbol ("minha senha é Pref@2024").
_SECRET = re.compile(
    r"(?i)(\b(?:senha|password|passwd|pwd|pin)\b(?:\s+(?:do|da|de)\s+\w+)?)"
    r"(\s*[:=]\s*(?!(?:como|qual|quem|onde|quando|porque|por|pra|para)\b)\S{3,}"
    r"|\s+(?:é\s+|e\s+|eh\s+)?\S*[\d@#$%&*!_]\S*)")


def mask_personal_data(text: str) -> str:
    """Citizens' personal data (CPF, e-mail, phone) and typed passwords masked before
    they are stored for analysts. CNPJs (14 digits, public data of the ente) are kept."""
    text = _SECRET.sub(r"\1 [senha]", text)
    text = _EMAIL.sub("[e-mail]", text)
    text = _CPF.sub("[CPF]", text)
    return _PHONE.sub("[telefone]", text)
