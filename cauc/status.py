"""Statuses of a CAUC item for one ente, and the kinds of change between two snapshots."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    COMPROVADO = "comprovado"  # proven, valid until a date
    A_COMPROVAR = "a_comprovar"  # "!" / "A Comprovar": the CAUC could not confirm it
    VENCIDO = "vencido"  # a validity date before the snapshot date
    DESABILITADO = "desabilitado"  # "Desabilitado" / "Desativado": switched off for all
    NAO_SE_APLICA = "nao_se_aplica"  # "-" (per-órgão export only)
    SEM_INFORMACAO = "sem_informacao"  # empty cell


PENDING: frozenset[str] = frozenset({Status.A_COMPROVAR, Status.VENCIDO})


class Change(StrEnum):
    NOVA_PENDENCIA = "nova_pendencia"  # not pending -> a comprovar / vencido
    RESOLVIDA = "resolvida"  # pending -> comprovado
    DESABILITADO = "desabilitado"  # anything -> desabilitado
    REABILITADO = "reabilitado"  # desabilitado -> comprovado / sem informação / ...
    OUTRA = "outra"  # e.g. a comprovar <-> vencido, comprovado -> sem informação


def classify(before: str, after: str) -> Change:
    """The kind of a status change (``before != after``), by status only."""
    if after in PENDING and before not in PENDING:
        return Change.NOVA_PENDENCIA
    if before in PENDING and after == Status.COMPROVADO:
        return Change.RESOLVIDA
    if after == Status.DESABILITADO:
        return Change.DESABILITADO
    if before == Status.DESABILITADO:
        return Change.REABILITADO
    return Change.OUTRA
