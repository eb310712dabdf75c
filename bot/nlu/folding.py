"""Accent- and case-folding that keeps positions, shared by the NLU export (app
environment) and the span aligner (engine environment): both must find an expression in
the same places. Standard library only, so either environment can import it."""

from __future__ import annotations

import unicodedata


def fold_keep_length(text: str) -> str:
    """Lower-case and strip accents character by character, so that positions in the
    result are positions in ``text`` ("É" -> "e"; a character that would not fold to one
    character stays lower-cased)."""
    out = []
    for ch in text:
        decomposed = unicodedata.normalize("NFKD", ch.casefold())
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        out.append(base if len(base) == 1 else ch.lower())
    return "".join(out)
