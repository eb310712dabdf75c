"""The retrieval benchmark's machinery on a small scale (hash encoder, real chunks)."""

from __future__ import annotations

import numpy as np

from index.bench import render_bench, run_benchmark, synthetic_token_ids, synthetic_vectors
from index.retriever import Retriever


def test_synthetic_vectors_are_normalised_perturbed_copies() -> None:
    rng = np.random.default_rng(0)
    real = np.eye(4, 16, dtype=np.float32)
    out = synthetic_vectors(real, 10, rng)
    assert out.shape == (10, 16)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(out * real[np.arange(10) % 4], axis=1) > 0.8)


def test_synthetic_token_ids_recombine_halves() -> None:
    rng = np.random.default_rng(0)
    docs = synthetic_token_ids([[1, 2, 3, 4], [5, 6, 7, 8]], 20, rng)
    assert len(docs) == 20
    assert all(len(d) == 4 and d[0] in (1, 5) and d[-1] in (4, 8) for d in docs)


def test_benchmark_reports_the_documented_fields(hash_retriever: Retriever) -> None:
    calls: list[str] = []
    report = run_benchmark(
        hash_retriever.encoder, hash_retriever.chunks, hash_retriever.index.vectors(),
        ["prazo do rreo", "crp vencido"], [500, 1500], hnsw_threshold=1000,
        build=lambda: calls.append("build"), unchanged_rebuild=lambda: calls.append("again"))
    assert calls == ["build", "again"]
    assert set(report["sizes"]) == {"500", "1500"}
    assert report["sizes"]["500"]["index_type"] == "flat-ip"
    assert report["sizes"]["1500"]["index_type"] == "hnsw"
    for row in report["sizes"].values():
        assert set(row) >= {"p50_ms", "p95_ms", "index_type", "recall_vs_exact", "memory_mb"}
        assert 0.0 <= row["recall_vs_exact"] <= 1.0 and row["memory_mb"] > 0
    assert set(report["build"]) >= {"chunks_per_s", "encoder_chunks_per_s"}
    assert "chunks/s" in render_bench(report)
