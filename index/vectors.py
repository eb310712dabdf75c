"""Vector indexes behind one small interface (exact FAISS inner product for now)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np


class VectorIndex(Protocol):
    kind: str

    @property
    def dims(self) -> int: ...

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


class FlatIPIndex:
    """Exact inner-product search; with normalised vectors that is cosine similarity.

    ``search`` returns (scores, ids) of shape (n_queries, min(k, len)), best first; equal
    scores keep the lower id first.
    """

    kind = "flat-ip"

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def from_vectors(cls, vectors: np.ndarray) -> FlatIPIndex:
        vectors = _as_matrix(vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(vectors)
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> FlatIPIndex:
        return cls(faiss.read_index(str(path)))

    @property
    def dims(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = _as_matrix(queries)
        if queries.shape[1] != self.dims:
            raise ValueError(f"query has {queries.shape[1]} dims, index has {self.dims}")
        k = min(k, len(self))
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores, ids = self._index.search(queries, k)
        # Deterministic ties: equal scores keep the lower id first.
        order = np.lexsort((ids, -scores), axis=1)
        return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)

    def vectors(self) -> np.ndarray:
        if len(self) == 0:
            return np.zeros((0, self.dims), dtype=np.float32)
        return self._index.reconstruct_n(0, len(self))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {matrix.shape}")
    return matrix
