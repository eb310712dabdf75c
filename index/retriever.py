"""Query the index: scored chunks with their source metadata."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.artifact import IndexArtifact, load_artifact
from index.chunks import Chunk
from index.encoder import Encoder, SentenceTransformerEncoder
from index.sparse import BM25Index
from index.vectors import FlatIPIndex, VectorIndex

RRF_K = 60  # reciprocal rank fusion constant (Cormack et al.)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk. ``score`` ranks (fused); ``dense`` is the cosine similarity and
    ``sparse`` the BM25 score, kept apart because only they say how good a match is."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    sparse: float = 0.0


class Retriever:
    """Hybrid retrieval: dense vectors and BM25 (when given), fused by reciprocal rank."""

    def __init__(
        self,
        encoder: Encoder,
        index: VectorIndex,
        chunks: list[Chunk],
        sparse: BM25Index | None = None,
    ) -> None:
        if len(index) != len(chunks):
            raise ValueError(f"index has {len(index)} vectors for {len(chunks)} chunks")
        if sparse is not None and len(sparse) != len(chunks):
            raise ValueError(f"sparse index has {len(sparse)} rows for {len(chunks)} chunks")
        self.encoder = encoder
        self.index = index
        self.chunks = chunks
        self.sparse = sparse

    @classmethod
    def from_chunks(cls, encoder: Encoder, chunks: list[Chunk], *, hybrid: bool = True
                    ) -> Retriever:
        vectors = encoder.encode_passages([c.embedding_text for c in chunks])
        sparse = BM25Index([c.sparse_text for c in chunks]) if hybrid else None
        return cls(encoder, FlatIPIndex.from_vectors(vectors), chunks, sparse)

    @classmethod
    def from_artifact(cls, encoder: Encoder, artifact: IndexArtifact, *, hybrid: bool = True
                      ) -> Retriever:
        sparse = BM25Index([c.sparse_text for c in artifact.chunks]) if hybrid else None
        return cls(encoder, artifact.vectors, artifact.chunks, sparse)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        item: str | None = None,
        topic: str | None = None,
    ) -> list[Hit]:
        """Top-k chunks for ``query``, best first; optional filters by item or topic.

        Scores every chunk: exact and cheap at the knowledge's size (hundreds of chunks).
        """
        if not query.strip() or not self.chunks:
            return []
        n = len(self.chunks)
        scores, ids = self.index.search(self.encoder.encode_queries([query]), n)
        dense = np.zeros(n, dtype=np.float32)
        dense[ids[0]] = scores[0]
        fused = np.zeros(n, dtype=np.float64)
        fused[ids[0]] = 1.0 / (RRF_K + 1 + np.arange(len(ids[0])))
        sparse = np.zeros(n, dtype=np.float32)
        if self.sparse is not None:
            sparse = self.sparse.scores(query)
            matched = np.flatnonzero(sparse > 0)
            ranked = matched[np.argsort(-sparse[matched], kind="stable")]
            fused[ranked] += 1.0 / (RRF_K + 1 + np.arange(len(ranked)))
        hits = []
        for idx in np.argsort(-fused, kind="stable"):
            chunk = self.chunks[int(idx)]
            if item is not None and chunk.item != item:
                continue
            if topic is not None and chunk.topic != topic:
                continue
            hits.append(Hit(chunk, float(fused[idx]), float(dense[idx]), float(sparse[idx])))
            if len(hits) == k:
                break
        return hits


def load_retriever(
    index_dir: str, model: str, *, batch_size: int = 32, offline: bool = True
) -> Retriever:
    """The configured retriever: the real model and the artifact built for it."""
    from pathlib import Path

    encoder = SentenceTransformerEncoder(model, batch_size=batch_size, offline=offline)
    artifact = load_artifact(Path(index_dir), model, encoder.dims)
    return Retriever.from_artifact(encoder, artifact)
