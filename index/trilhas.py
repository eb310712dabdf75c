"""Learning paths: where a content sits in its trilha and what comes next."""

from __future__ import annotations

from dataclasses import dataclass

from index.knowledge import Document, Knowledge, Trilha


@dataclass(frozen=True)
class Step:
    """One content of a trilha, with its position (1-based)."""

    trilha: Trilha
    document: Document
    position: int

    @property
    def total(self) -> int:
        return len(self.trilha.conteudos)


def trilha_of(knowledge: Knowledge, doc_id: str, current: str | None = None) -> Trilha | None:
    """The trilha the gestor follows through ``doc_id``: the current one when it holds
    the content, else the first trilha that does."""
    trilhas = knowledge.trilhas_of(doc_id)
    return next((t for t in trilhas if t.id == current), trilhas[0] if trilhas else None)


def step_at(knowledge: Knowledge, trilha: Trilha, doc_id: str) -> Step | None:
    if doc_id not in trilha.conteudos:
        return None
    return Step(trilha, knowledge.document(doc_id), trilha.conteudos.index(doc_id) + 1)


def next_step(knowledge: Knowledge, doc_id: str, current: str | None = None) -> Step | None:
    """The content after ``doc_id`` in its trilha (None at the end or outside trilhas)."""
    trilha = trilha_of(knowledge, doc_id, current)
    if trilha is None:
        return None
    position = trilha.conteudos.index(doc_id) + 1
    if position >= len(trilha.conteudos):
        return None
    return Step(trilha, knowledge.document(trilha.conteudos[position]), position + 1)


def first_step(knowledge: Knowledge, trilha_id: str) -> Step | None:
    trilha = next((t for t in knowledge.trilhas if t.id == trilha_id), None)
    if trilha is None or not trilha.conteudos:
        return None
    return Step(trilha, knowledge.document(trilha.conteudos[0]), 1)
