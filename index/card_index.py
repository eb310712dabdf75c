"""Ranking answer cards for a question.

Every question of a card (its own and each paraphrase, including those analysts add) is a
row of a dense matrix; one more row per card holds its question with its answer. A card's
dense score is the best cosine similarity of the query to its rows: matching a question to
the questions gestores already asked is where both sides are strongest. The sparse side is
BM25 over one text per card (its questions, answer, steps and its target's names), per
query term. A card's score is ``dense + SPARSE_WEIGHT * sparse``: on the dev set this
linear fusion chose the right target more often than reciprocal rank fusion (0.908 vs
0.894 on the first cards) and, unlike ranks, it says how good the best match is, so one
calibrated threshold decides whether Iara answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from index.analyzer import PortugueseAnalyzer
from index.encoder import Encoder
from index.knowledge import Knowledge
from index.sparse import BM25Index
from index.text import slugify

# Weight of the BM25 score per query term beside the cosine similarity. Best card of the
# right target on the dev set (no item named): 0.78 with 0, 0.865 with 0.05, 0.879 with
# 0.08-0.1, 0.872 with 0.2, 0.858 with 0.3.
SPARSE_WEIGHT = 0.1
RECENT_QUERIES = 16


@dataclass(frozen=True)
class IndexedCard:
    """A card with what answering needs from its knowledge (its document, trilha and
    sources resolved), as stored in the index artifact (``cards.jsonl``)."""

    key: str
    topic: str
    tipo: str
    pergunta: str
    resposta: str
    passos: tuple[str, ...]
    perguntas: tuple[str, ...]
    doc_id: str
    title: str  # the document's display title ("Item 3.1.2 — Encaminhamento do RGF…")
    secao: str  # the section that explains it in full
    sources: tuple[dict[str, Any], ...]  # {titulo, url, oficial}
    names: str = ""  # the target's code, title, synonyms and keywords (for BM25)
    item: str | None = None
    trilha: str | None = None
    trilha_titulo: str | None = None
    format: str | None = None

    @property
    def questions(self) -> tuple[str, ...]:
        return (self.pergunta, *self.perguntas)

    @property
    def anchor(self) -> str:
        return slugify(self.secao)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexedCard:
        data = dict(data)
        for key in ("passos", "perguntas", "sources"):
            data[key] = tuple(data.get(key) or ())
        return cls(**data)


def indexed_cards(knowledge: Knowledge) -> list[IndexedCard]:
    """The knowledge's cards, each with its document, trilha and sources."""
    out = []
    for card in knowledge.cards:
        doc = knowledge.by_topic(card.topic)
        if doc is None:
            continue
        trilhas = knowledge.trilhas_of(doc.id)
        names = " ".join([f"item {doc.item}" if doc.item else "", doc.titulo,
                          *doc.sinonimos, *doc.palavras_chave])
        sources = tuple({"titulo": s.titulo, "url": s.url, "oficial": s.oficial}
                        for url in card.fontes if (s := knowledge.sources.get(url)))
        out.append(IndexedCard(
            key=card.key, topic=card.topic, tipo=card.tipo, pergunta=card.pergunta,
            resposta=card.resposta, passos=card.passos, perguntas=card.perguntas,
            doc_id=doc.id, title=doc.display_title, secao=card.secao, sources=sources,
            names=names.strip(), item=doc.item, trilha=trilhas[0].id if trilhas else None,
            trilha_titulo=trilhas[0].titulo if trilhas else None, format=doc.formato))
    return out


@dataclass(frozen=True)
class CardHit:
    card: IndexedCard
    score: float  # dense + SPARSE_WEIGHT * sparse: orders hits, and is thresholded
    dense: float  # best cosine similarity to the card's rows
    sparse: float  # BM25 score per distinct query term


def card_rows(card: IndexedCard) -> list[str]:
    """The texts embedded for a card: each of its questions, then question and answer."""
    return [*card.questions, f"{card.pergunta}\n{card.resposta}"]


def card_sparse_text(card: IndexedCard) -> str:
    """What BM25 indexes for a card: its questions, answer and steps, and the names of its
    target (item code, title, synonyms, keywords)."""
    return "\n".join([*card.questions, card.resposta, *card.passos, card.names])


class CardIndex:
    """Hybrid search over answer cards. ``vectors`` has one row per text of
    :func:`card_rows`, card after card."""

    def __init__(self, encoder: Encoder, cards: Sequence[IndexedCard], vectors: np.ndarray,
                 *, analyzer: PortugueseAnalyzer | None = None) -> None:
        owners = [i for i, card in enumerate(cards) for _ in card_rows(card)]
        if len(owners) != len(vectors):
            raise ValueError(f"{len(vectors)} card vectors for {len(owners)} card rows")
        self.encoder = encoder
        self.cards = list(cards)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self._owner = np.asarray(owners, dtype=np.int64)
        self.sparse = BM25Index([card_sparse_text(c) for c in cards], analyzer)
        self._by_topic: dict[str, np.ndarray] = {}
        for topic in {c.topic for c in self.cards}:
            self._by_topic[topic] = np.array(
                [i for i, c in enumerate(self.cards) if c.topic == topic], dtype=np.int64)
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()  # actions answer in worker threads

    @classmethod
    def build(cls, encoder: Encoder, cards: Sequence[IndexedCard], *,
              analyzer: PortugueseAnalyzer | None = None) -> CardIndex:
        texts = [text for card in cards for text in card_rows(card)]
        vectors = encoder.encode_passages(texts) if texts else np.zeros(
            (0, encoder.dims), dtype=np.float32)
        return cls(encoder, cards, vectors, analyzer=analyzer)

    def __len__(self) -> int:
        return len(self.cards)

    def _query_vector(self, query: str) -> np.ndarray:
        """The query's vector; an answer searches several times with the same message
        and its parts, so the last few encodings are kept."""
        key = query.strip()
        with self._recent_lock:
            vector = self._recent.get(key)
            if vector is not None:
                self._recent.move_to_end(key)
                return vector
        vector = self.encoder.encode_queries([key])[0]
        with self._recent_lock:
            self._recent[key] = vector
            if len(self._recent) > RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector

    def dense_scores(self, query: str) -> np.ndarray:
        """Per card: the best cosine similarity of ``query`` to its rows."""
        best = np.full(len(self.cards), -1.0, dtype=np.float32)
        if not len(self.cards):
            return best
        similarities = self.vectors @ self._query_vector(query)
        np.maximum.at(best, self._owner, similarities)
        return best

    def search(self, query: str, k: int = 5, *, topics: Collection[str] | None = None,
               sparse_weight: float = SPARSE_WEIGHT) -> list[CardHit]:
        """The ``k`` best cards for ``query``, best first; ``topics`` restricts them to
        those items or topics."""
        if not query.strip() or not self.cards or k <= 0:
            return []
        if topics is not None:
            parts = [self._by_topic[t] for t in topics if t in self._by_topic]
            allowed = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        else:
            allowed = np.arange(len(self.cards))
        if not len(allowed):
            return []
        dense = self.dense_scores(query)
        sparse = self.sparse.scores(query)
        score = dense + sparse_weight * sparse
        best = allowed[np.lexsort((allowed, -score[allowed]))][:k]
        return [CardHit(self.cards[i], float(score[i]), float(dense[i]), float(sparse[i]))
                for i in best.tolist()]
