"""The FAISS wrapper against hand vectors and a numpy brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.vectors import FlatIPIndex, HNSWIndex, build_vector_index, load_vector_index

HAND = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]], dtype=np.float32)


def test_hand_vectors_rank_by_inner_product() -> None:
    index = FlatIPIndex.from_vectors(HAND)
    scores, ids = index.search(np.array([[0.8, 0.6, 0]], dtype=np.float32), 4)
    assert ids[0].tolist() == [3, 0, 1, 2]
    assert scores[0].tolist() == pytest.approx([0.96, 0.8, 0.6, 0.0])


def test_matches_numpy_brute_force_top_k() -> None:
    rng = np.random.default_rng(42)
    corpus = rng.normal(size=(500, 16)).astype(np.float32)
    queries = rng.normal(size=(20, 16)).astype(np.float32)
    scores, ids = FlatIPIndex.from_vectors(corpus).search(queries, 10)
    brute = queries @ corpus.T
    expected = np.argsort(-brute, axis=1)[:, :10]
    assert np.array_equal(ids, expected)
    assert np.allclose(scores, np.take_along_axis(brute, expected, axis=1), atol=1e-4)


def test_k_larger_than_corpus_returns_corpus() -> None:
    _scores, ids = FlatIPIndex.from_vectors(HAND).search(HAND[:1], 50)
    assert ids.shape == (1, 4)
    assert sorted(ids[0].tolist()) == [0, 1, 2, 3]


def test_empty_index_returns_nothing() -> None:
    index = FlatIPIndex.from_vectors(np.zeros((0, 3), dtype=np.float32))
    scores, ids = index.search(HAND[:2], 5)
    assert len(index) == 0
    assert scores.shape == (2, 0) and ids.shape == (2, 0)


def test_ties_keep_lower_id_first() -> None:
    corpus = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    _, ids = FlatIPIndex.from_vectors(corpus).search(np.array([[1, 0]], np.float32), 2)
    assert ids[0].tolist() == [0, 1]


def test_wrong_dimensions_are_refused() -> None:
    with pytest.raises(ValueError, match="dims"):
        FlatIPIndex.from_vectors(HAND).search(np.ones((1, 5), np.float32), 1)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    FlatIPIndex.from_vectors(HAND).save(tmp_path / "v.faiss")
    loaded = load_vector_index(tmp_path / "v.faiss")
    assert isinstance(loaded, FlatIPIndex)
    assert len(loaded) == 4 and loaded.dims == 3
    assert np.allclose(loaded.vectors(), HAND)


def test_id_filter_restricts_the_search() -> None:
    index = FlatIPIndex.from_vectors(HAND)
    _scores, ids = index.search(np.array([[1, 0, 0]], np.float32), 3, ids=np.array([1, 2]))
    assert sorted(ids[0].tolist()) == [1, 2]
    _, none = index.search(np.array([[1, 0, 0]], np.float32), 3, ids=np.array([], np.int64))
    assert none.shape == (1, 0)


def test_hnsw_matches_exact_search_on_random_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    corpus = rng.normal(size=(3000, 32)).astype(np.float32)
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    queries = corpus[:50] + rng.normal(scale=0.05, size=(50, 32)).astype(np.float32)
    _, exact = FlatIPIndex.from_vectors(corpus).search(queries, 10)
    hnsw = HNSWIndex.from_vectors(corpus)
    _, approx = hnsw.search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95
    hnsw.save(tmp_path / "h.faiss")
    assert isinstance(load_vector_index(tmp_path / "h.faiss"), HNSWIndex)
    _, filtered = hnsw.search(queries[:1], 5, ids=np.arange(100, 200))
    assert all(100 <= i < 200 for i in filtered[0])


def test_size_threshold_picks_the_index_type() -> None:
    vectors = np.eye(4, dtype=np.float32)
    assert build_vector_index(vectors, hnsw_threshold=10).kind == "flat-ip"
    assert build_vector_index(vectors, hnsw_threshold=3).kind == "hnsw"
