"""Query the index: scored chunks with their source metadata."""

from __future__ import annotations

from dataclasses import dataclass

from index.artifact import IndexArtifact, load_artifact
from index.chunks import Chunk
from index.encoder import Encoder, SentenceTransformerEncoder
from index.vectors import FlatIPIndex, VectorIndex


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float


class Retriever:
    """Dense retrieval over a vector index whose rows are ``chunks``."""

    def __init__(self, encoder: Encoder, index: VectorIndex, chunks: list[Chunk]) -> None:
        if len(index) != len(chunks):
            raise ValueError(f"index has {len(index)} vectors for {len(chunks)} chunks")
        self.encoder = encoder
        self.index = index
        self.chunks = chunks

    @classmethod
    def from_chunks(cls, encoder: Encoder, chunks: list[Chunk]) -> Retriever:
        vectors = encoder.encode_passages([c.embedding_text for c in chunks])
        return cls(encoder, FlatIPIndex.from_vectors(vectors), chunks)

    @classmethod
    def from_artifact(cls, encoder: Encoder, artifact: IndexArtifact) -> Retriever:
        return cls(encoder, artifact.vectors, artifact.chunks)

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        item: str | None = None,
        topic: str | None = None,
    ) -> list[Hit]:
        """Top-k chunks for ``query``, best first; optional filters by item or topic."""
        if not query.strip() or not self.chunks:
            return []
        filtered = item is not None or topic is not None
        # With a filter, search wider and keep the first k that pass.
        fetch = len(self.chunks) if filtered else k
        scores, ids = self.index.search(self.encoder.encode_queries([query]), fetch)
        hits = []
        for score, idx in zip(scores[0], ids[0], strict=True):
            if idx < 0:
                continue
            chunk = self.chunks[int(idx)]
            if item is not None and chunk.item != item:
                continue
            if topic is not None and chunk.topic != topic:
                continue
            hits.append(Hit(chunk, float(score)))
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
