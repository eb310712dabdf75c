"""The CAUC library's exceptions, under Iara's one hierarchy (``index.errors.IaraError``).

Messages are for an operator or analyst (English); what a gestor reads is composed in
``cauc.messages``.
"""

from __future__ import annotations

from index.errors import IaraError


class CaucError(IaraError):
    """Base of every expected failure of the CAUC snapshot library."""


class CaucFormatError(CaucError):
    """A CAUC file that cannot be loaded: unknown layout, unknown cell value, bad row.

    ``line`` is the 1-based physical line of the file where the problem is.
    """

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


class SnapshotConflictError(CaucError):
    """Another file for the same date and kind of ente is already loaded."""


class SnapshotNotFoundError(CaucError):
    """No loaded snapshot matches (no file loaded yet, or none for that date or ente)."""


class EnteNotFoundError(CaucError):
    """No ente with that IBGE code in the loaded snapshots."""


class InvalidCnpjError(CaucError):
    """A CNPJ whose check digits do not match."""
