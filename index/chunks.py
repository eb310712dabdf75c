"""Chunking: one passage per document section, carrying its citation metadata."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from index.ingest import heading_start_seconds
from index.knowledge import Document, Knowledge
from index.text import sha256

_PAGE = re.compile(r"^Página (\d+)\b")


def locator_fragment(heading: str) -> str | None:
    """A URL fragment for a section heading that locates it: time or page."""
    start = heading_start_seconds(heading)
    if start is not None:
        return f"t={start}"
    page = _PAGE.match(heading)
    return f"page={page.group(1)}" if page else None


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage. ``id`` is a content hash: same text, same id."""

    id: str
    doc_id: str
    doc_sha256: str
    title: str
    heading: str
    anchor: str
    text: str
    path: str
    item: str | None = None
    topic: str | None = None
    trilha: str | None = None
    trilha_titulo: str | None = None
    format: str | None = None
    sources: list[dict[str, str | None]] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    url: str | None = None  # the original of an ingested content (vídeo, cartilha…)
    fragment: str | None = None  # where in it: "t=754" (transcripts), "page=3" (PDFs)

    @property
    def source_url(self) -> str | None:
        """The original content's address, pointing at this passage when possible."""
        if not self.url:
            return None
        return f"{self.url}#{self.fragment}" if self.fragment else self.url

    @property
    def embedding_text(self) -> str:
        """What is embedded: title and heading keep each passage self-describing."""
        return f"{self.title} — {self.heading}\n{self.text}"

    @property
    def sparse_text(self) -> str:
        """What BM25 indexes: the same, plus the item code and the analyst's keywords."""
        code = f"item {self.item} " if self.item else ""
        return f"{code}{self.embedding_text}\n{' '.join(self.keywords)}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        return cls(**data)


def document_chunks(doc: Document, knowledge: Knowledge) -> list[Chunk]:
    trilhas = knowledge.trilhas_of(doc.id)
    trilha = trilhas[0] if trilhas else None
    sources = [{"titulo": s.titulo, "url": s.url} for s in doc.fontes]
    rel_path = str(doc.path.relative_to(knowledge.root.parent)) if doc.path.is_relative_to(
        knowledge.root.parent) else str(doc.path)
    chunks = []
    for section in doc.sections:
        body = section.text
        chunks.append(
            Chunk(
                id=sha256(f"{doc.id}\n{section.heading}\n{body}")[:16],
                doc_id=doc.id,
                doc_sha256=doc.sha256,
                title=doc.display_title,
                heading=section.heading,
                anchor=section.anchor,
                text=body,
                path=rel_path,
                item=doc.item,
                topic=doc.topic,
                trilha=trilha.id if trilha else None,
                trilha_titulo=trilha.titulo if trilha else None,
                format=doc.formato,
                sources=sources,
                keywords=doc.palavras_chave,
                url=doc.url if doc.tipo == "conteudo" else None,
                fragment=locator_fragment(section.heading) if doc.tipo == "conteudo" else None,
            )
        )
    return chunks


def knowledge_chunks(knowledge: Knowledge) -> list[Chunk]:
    return [chunk for doc in knowledge.documents for chunk in document_chunks(doc, knowledge)]
