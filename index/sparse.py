"""Sparse retrieval: BM25 (bm25s) over Portuguese-normalised tokens."""

from __future__ import annotations

import logging

import bm25s
import numpy as np

from index.analyzer import PortugueseAnalyzer

logger = logging.getLogger(__name__)


class BM25Index:
    """BM25 scores for every passage; the analyzer is shared with the queries."""

    def __init__(self, texts: list[str], analyzer: PortugueseAnalyzer | None = None) -> None:
        self.analyzer = analyzer or PortugueseAnalyzer()
        self._size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            corpus = [self.analyzer.tokens(t) or ["_vazio_"] for t in texts]
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            self._bm25.index(corpus, show_progress=False)

    @classmethod
    def from_token_ids(cls, docs: list[list[int]], vocab: dict[str, int],
                       analyzer: PortugueseAnalyzer) -> BM25Index:
        """An index over already-analysed passages (token ids into ``vocab``)."""
        from bm25s.tokenization import Tokenized

        index = cls([], analyzer)
        index._size = len(docs)
        if docs:
            index._bm25.index(Tokenized(ids=docs, vocab=dict(vocab)), show_progress=False)
        return index

    def __len__(self) -> int:
        return self._size

    def memory_bytes(self) -> int:
        arrays = getattr(self._bm25, "scores", {}) or {}
        return int(sum(getattr(v, "nbytes", 0) for v in arrays.values()))

    def scores(self, query: str) -> np.ndarray:
        """One BM25 score per passage, divided by the number of distinct query terms.

        The division makes scores comparable across question lengths, so one threshold
        serves "siope?" and a long question alike. Zeros when no query term is known.
        """
        if not self._size:
            return np.zeros(0, dtype=np.float32)
        tokens = self.analyzer.tokens(query)
        if not tokens:
            return np.zeros(self._size, dtype=np.float32)
        raw = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        return raw / len(set(tokens))
