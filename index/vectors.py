"""Vector indexes behind one small interface.

``FlatIPIndex`` is exact inner-product search (cosine on normalised vectors) for the
knowledge's realistic sizes; ``HNSWIndex`` is FAISS's graph index for large corpora.
``build_vector_index`` picks one by size. Both search with an optional id filter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

DEFAULT_HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


class VectorIndex(Protocol):
    kind: str

    @property
    def dims(self) -> int: ...

    def __len__(self) -> int: ...

    def search(
        self, queries: np.ndarray, k: int, ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def vector(self, idx: int) -> np.ndarray: ...

    def vectors(self) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...

    def memory_bytes(self) -> int: ...


class _FaissIndex:
    """Shared behaviour of the FAISS-backed indexes."""

    kind = "faiss"

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @property
    def dims(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _params(self, selector: faiss.IDSelector | None) -> faiss.SearchParameters | None:
        if selector is None:
            return None
        return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]

    def search(
        self, queries: np.ndarray, k: int, ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` per query: (scores, ids), best first, equal scores by lower id.

        ``ids`` restricts the search to those rows (a metadata filter). Rows FAISS could
        not fill (k larger than what matches) are dropped, so the width may be < k.
        """
        queries = _as_matrix(queries)
        if queries.shape[1] != self.dims:
            raise ValueError(f"query has {queries.shape[1]} dims, index has {self.dims}")
        allowed = len(self) if ids is None else len(ids)
        k = min(k, allowed)
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        selector = None
        if ids is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
        scores, found = self._index.search(queries, k, params=self._params(selector))
        order = np.lexsort((found, -scores), axis=1)
        scores = np.take_along_axis(scores, order, 1)
        found = np.take_along_axis(found, order, 1)
        keep = (found >= 0).all(axis=0)
        return scores[:, keep], found[:, keep]

    def vector(self, idx: int) -> np.ndarray:
        return np.asarray(self._index.reconstruct(int(idx)), dtype=np.float32)

    def vectors(self) -> np.ndarray:
        if len(self) == 0:
            return np.zeros((0, self.dims), dtype=np.float32)
        return np.asarray(self._index.reconstruct_n(0, len(self)), dtype=np.float32)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    def memory_bytes(self) -> int:
        """Serialized size: what the index holds in memory, to within a few percent."""
        return int(faiss.serialize_index(self._index).nbytes)


class FlatIPIndex(_FaissIndex):
    """Exact inner-product search."""

    kind = "flat-ip"

    @classmethod
    def from_vectors(cls, vectors: np.ndarray) -> FlatIPIndex:
        vectors = _as_matrix(vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(vectors)
        return cls(index)


class HNSWIndex(_FaissIndex):
    """Approximate search on a navigable small-world graph (inner product)."""

    kind = "hnsw"

    def __init__(self, index: faiss.Index, ef_search: int = HNSW_EF_SEARCH) -> None:
        super().__init__(index)
        self.ef_search = ef_search

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, *, m: int = HNSW_M,
                     ef_construction: int = HNSW_EF_CONSTRUCTION,
                     ef_search: int = HNSW_EF_SEARCH) -> HNSWIndex:
        vectors = _as_matrix(vectors)
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        if len(vectors):
            index.add(vectors)
        return cls(index, ef_search)

    def _params(self, selector: faiss.IDSelector | None) -> faiss.SearchParameters:
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = self.ef_search
        if selector is not None:
            params.sel = selector
        return params


def build_vector_index(
    vectors: np.ndarray, *, hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD
) -> FlatIPIndex | HNSWIndex:
    """Exact search up to ``hnsw_threshold`` vectors, HNSW beyond."""
    if len(vectors) > hnsw_threshold:
        return HNSWIndex.from_vectors(vectors)
    return FlatIPIndex.from_vectors(vectors)


def load_vector_index(path: Path) -> FlatIPIndex | HNSWIndex:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSW):
        return HNSWIndex(index)
    return FlatIPIndex(index)


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {matrix.shape}")
    return matrix
