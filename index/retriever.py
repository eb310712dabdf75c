"""Query the index: scored chunks with their source metadata.

Hybrid retrieval: the dense side (sentence embeddings in FAISS) and the sparse side
(BM25 over Portuguese-normalised tokens) each propose candidates; reciprocal rank
fusion orders them. Metadata filters (item, topic, trilha, format) restrict both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.analyzer import PortugueseAnalyzer
from index.artifact import IndexArtifact
from index.chunks import Chunk
from index.encoder import Encoder
from index.sparse import BM25Index
from index.vectors import FlatIPIndex, VectorIndex

RRF_K = 60  # reciprocal rank fusion constant (Cormack et al., 2009)
CANDIDATES = 100  # candidates each side proposes before fusion

Mode = Literal["hybrid", "dense", "sparse"]


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk. ``score`` ranks (fused in hybrid mode); ``dense`` is the cosine
    similarity and ``sparse`` the BM25 score per query term, kept apart because only
    they say how good a match is."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    sparse: float = 0.0


@dataclass(frozen=True)
class Filters:
    item: str | None = None
    topic: str | None = None
    trilha: str | None = None
    format: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.item, self.topic, self.trilha, self.format))

    def accepts(self, chunk: Chunk) -> bool:
        return ((self.item is None or chunk.item == self.item)
                and (self.topic is None or chunk.topic == self.topic)
                and (self.trilha is None or chunk.trilha == self.trilha)
                and (self.format is None or chunk.format == self.format))


class Retriever:
    """Dense, sparse or hybrid retrieval over ``chunks`` (row i of the index is chunk i)."""

    def __init__(
        self,
        encoder: Encoder,
        index: VectorIndex,
        chunks: list[Chunk],
        sparse: BM25Index | None = None,
        *,
        candidates: int = CANDIDATES,
    ) -> None:
        if len(index) != len(chunks):
            raise ValueError(f"index has {len(index)} vectors for {len(chunks)} chunks")
        if sparse is not None and len(sparse) != len(chunks):
            raise ValueError(f"sparse index has {len(sparse)} rows for {len(chunks)} chunks")
        self.encoder = encoder
        self.index = index
        self.chunks = chunks
        self.sparse = sparse
        self.candidates = candidates
        self._allowed_cache: dict[Filters, np.ndarray] = {}
        self._last_query: tuple[str, np.ndarray] | None = None

    @classmethod
    def from_chunks(cls, encoder: Encoder, chunks: list[Chunk], *, hybrid: bool = True,
                    analyzer: PortugueseAnalyzer | None = None) -> Retriever:
        vectors = encoder.encode_passages([c.embedding_text for c in chunks])
        sparse = BM25Index([c.sparse_text for c in chunks], analyzer) if hybrid else None
        return cls(encoder, FlatIPIndex.from_vectors(vectors), chunks, sparse)

    @classmethod
    def from_artifact(cls, encoder: Encoder, artifact: IndexArtifact, *, hybrid: bool = True,
                      analyzer: PortugueseAnalyzer | None = None) -> Retriever:
        sparse = (BM25Index([c.sparse_text for c in artifact.chunks], analyzer) if hybrid
                  else None)
        return cls(encoder, artifact.vectors, artifact.chunks, sparse)

    def _encode(self, query: str) -> np.ndarray:
        """The query's vector; an answer searches twice with the same question (to pick
        the document, then its sections), so the last encoding is reused."""
        last = self._last_query
        if last is not None and last[0] == query:
            return last[1]
        vector = self.encoder.encode_queries([query])[0]
        self._last_query = (query, vector)
        return vector

    def _allowed(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        if filters not in self._allowed_cache:
            if len(self._allowed_cache) > 256:
                self._allowed_cache.clear()
            self._allowed_cache[filters] = np.array(
                [i for i, c in enumerate(self.chunks) if filters.accepts(c)], dtype=np.int64)
        return self._allowed_cache[filters]

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        item: str | None = None,
        topic: str | None = None,
    ) -> list[Hit]:
        """Top-k chunks for ``query``, best first."""
        filters = filters or Filters(item=item, topic=topic)
        if not query.strip() or not self.chunks or k <= 0:
            return []
        if mode == "sparse" and self.sparse is None:
            raise ValueError("sparse mode needs a BM25 index")
        allowed = self._allowed(filters)
        if allowed is not None and not len(allowed):
            return []
        width = max(k, self.candidates)

        query_vector = self._encode(query) if mode != "sparse" else None
        dense_ids: np.ndarray = np.zeros(0, dtype=np.int64)
        if query_vector is not None:
            _, found = self.index.search(query_vector[None, :], width, ids=allowed)
            dense_ids = found[0]

        sparse_scores: np.ndarray | None = None
        sparse_ids: np.ndarray = np.zeros(0, dtype=np.int64)
        if self.sparse is not None and mode != "dense":
            sparse_scores = self.sparse.scores(query)
            if allowed is not None:
                mask = np.zeros(len(self.chunks), dtype=bool)
                mask[allowed] = True
                sparse_scores = np.where(mask, sparse_scores, 0.0)
            positive = np.flatnonzero(sparse_scores > 0)
            if len(positive) > width:
                positive = positive[np.argpartition(-sparse_scores[positive], width)[:width]]
            sparse_ids = positive[np.lexsort((positive, -sparse_scores[positive]))]

        fused: dict[int, float] = {}
        for ranked in (dense_ids, sparse_ids):
            for rank, idx in enumerate(ranked.tolist()):
                fused[idx] = fused.get(idx, 0.0) + 1.0 / (RRF_K + 1 + rank)
        best = sorted(fused, key=lambda i: (-fused[i], i))[:k]

        hits = []
        for idx in best:
            dense = float(self.index.vector(idx) @ query_vector) if query_vector is not None \
                else 0.0
            sparse = float(sparse_scores[idx]) if sparse_scores is not None else 0.0
            score = {"hybrid": fused[idx], "dense": dense, "sparse": sparse}[mode]
            hits.append(Hit(self.chunks[idx], score, dense, sparse))
        return hits

