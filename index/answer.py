"""Extractive, cited answers composed from retrieved passages.

Iara never writes a fact of its own: the answer text is made of knowledge passages, and
every answer from the knowledge lists where it came from. When retrieval is not
confident, the answer says so (``found`` is False) and suggests the closest topics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.retriever import Hit, Retriever

# A second passage from the same document joins the answer when it scores this close.
SECOND_PASSAGE_MARGIN = 0.04
MAX_OFFICIAL_SOURCES = 3


@dataclass(frozen=True)
class Citation:
    title: str
    url: str | None = None
    item: str | None = None
    trilha: str | None = None
    format: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    found: bool
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    item: str | None = None
    topic: str | None = None

    @property
    def score(self) -> float:
        return self.hits[0].score if self.hits else 0.0


def compose_answer(
    question: str,
    retriever: Retriever,
    *,
    k: int = 5,
    min_score: float = 0.35,
    public_url: str = "",
    item: str | None = None,
) -> Answer:
    hits = retriever.search(question, k, item=item)
    if not hits or hits[0].score < min_score:
        return Answer(found=False, hits=hits, suggestions=_suggestions(hits))
    best = hits[0]
    passages = [best]
    for hit in hits[1:]:
        same_doc = hit.chunk.doc_id == best.chunk.doc_id
        if same_doc and hit.score >= best.score - SECOND_PASSAGE_MARGIN:
            passages.append(hit)
            break
    text = "\n\n".join(f"{p.chunk.title} — {p.chunk.heading}\n{p.chunk.text}" for p in passages)
    return Answer(
        found=True,
        text=text,
        citations=_citations(passages, public_url),
        hits=hits,
        item=best.chunk.item,
        topic=best.chunk.topic,
    )


def _citations(passages: list[Hit], public_url: str) -> list[Citation]:
    citations: list[Citation] = []
    seen: set[str] = set()
    for passage in passages:
        chunk = passage.chunk
        key = f"{chunk.doc_id}#{chunk.anchor}"
        if key not in seen:
            seen.add(key)
            citations.append(Citation(
                title=f"{chunk.title} › {chunk.heading}",
                url=f"{public_url}/conteudos/{chunk.doc_id}#{chunk.anchor}" if public_url
                else None,
                item=chunk.item,
                trilha=chunk.trilha_titulo,
                format=chunk.format,
            ))
    first = passages[0].chunk
    for source in first.sources[:MAX_OFFICIAL_SOURCES]:
        citations.append(Citation(
            title=str(source["titulo"]), url=source.get("url"), item=first.item,
            trilha=first.trilha_titulo, format=None))
    return citations


def _suggestions(hits: list[Hit]) -> list[str]:
    titles: list[str] = []
    for hit in hits:
        if hit.chunk.title not in titles:
            titles.append(hit.chunk.title)
    return titles[:3]


class Answerer:
    """Answers questions from one retriever with fixed thresholds (what an action holds)."""

    def __init__(
        self, retriever: Retriever, *, k: int = 5, min_score: float = 0.35, public_url: str = ""
    ) -> None:
        self.retriever = retriever
        self.k = k
        self.min_score = min_score
        self.public_url = public_url

    def answer(self, question: str, *, item: str | None = None) -> Answer:
        return compose_answer(question, self.retriever, k=self.k, min_score=self.min_score,
                              public_url=self.public_url, item=item)
