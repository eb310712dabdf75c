"""Retrieval benchmark: latency at realistic and large sizes, ANN recall, build throughput.

The corpus grows synthetically from the real chunks so the benchmark does not spend an
hour encoding: the dense side uses perturbed copies of the real vectors (renormalised),
the sparse side recombined token lists of real passages (the first half of one passage
with the second half of another). Queries are the real dev questions, encoded by the
real model at query time, so the latency includes query encoding.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.chunks import Chunk
from index.encoder import Encoder
from index.retriever import Retriever
from index.sparse import BM25Index
from index.vectors import FlatIPIndex, build_vector_index

logger = logging.getLogger(__name__)

NOISE = 0.02  # per-dimension noise of the synthetic vectors (cosine to the original ~0.93)
RECALL_QUERIES = 100
SEED = 5


@dataclass(frozen=True)
class SizeResult:
    chunks: int
    index_type: str
    p50_ms: float
    p95_ms: float
    recall_vs_exact: float
    memory_mb: float
    build_s: float

    def to_json(self) -> dict[str, Any]:
        return {"p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "index_type": self.index_type,
                "recall_vs_exact": self.recall_vs_exact, "memory_mb": self.memory_mb,
                "build_s": self.build_s}


def synthetic_vectors(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    block = 100_000
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = real[np.arange(start, stop) % len(real)]
        noisy = rows + rng.normal(scale=NOISE, size=rows.shape).astype(np.float32)
        out[start:stop] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out


def synthetic_token_ids(real: list[list[int]], n: int, rng: np.random.Generator
                        ) -> list[list[int]]:
    firsts = rng.integers(0, len(real), size=n)
    seconds = rng.integers(0, len(real), size=n)
    docs = []
    for i in range(n):
        a, b = real[firsts[i]], real[seconds[i]]
        docs.append(a[: len(a) // 2] + b[len(b) // 2:] or [0])
    return docs


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def bench_size(
    n: int,
    encoder: Encoder,
    chunks: list[Chunk],
    real_vectors: np.ndarray,
    real_tokens: list[list[int]],
    vocab: dict[str, int],
    analyzer: Any,
    queries: list[str],
    *,
    hnsw_threshold: int,
    rng: np.random.Generator,
) -> SizeResult:
    started = time.perf_counter()
    vectors = synthetic_vectors(real_vectors, n, rng)
    index = build_vector_index(vectors, hnsw_threshold=hnsw_threshold)
    build_s = round(time.perf_counter() - started, 1)
    sparse = BM25Index.from_token_ids(synthetic_token_ids(real_tokens, n, rng), vocab, analyzer)
    rows = [chunks[i % len(chunks)] for i in range(n)]
    retriever = Retriever(encoder, index, rows, sparse)

    retriever.search(queries[0], 5)  # warm caches
    timings = []
    for query in queries:
        t0 = time.perf_counter()
        retriever.search(query, 5)
        timings.append((time.perf_counter() - t0) * 1000)

    recall = 1.0
    if index.kind != FlatIPIndex.kind:
        exact = FlatIPIndex.from_vectors(vectors)
        picks = rng.choice(n, size=RECALL_QUERIES, replace=False)
        probe = synthetic_vectors(vectors[picks], RECALL_QUERIES, rng)
        _, truth = exact.search(probe, 10)
        _, approx = index.search(probe, 10)
        recall = float(np.mean([len(set(a) & set(t)) / 10
                                for a, t in zip(approx, truth, strict=True)]))
        del exact
    memory_mb = round((index.memory_bytes() + sparse.memory_bytes()) / 2**20, 1)
    result = SizeResult(n, index.kind, _percentile(timings, 50), _percentile(timings, 95),
                        round(recall, 4), memory_mb, build_s)
    del vectors, index, sparse, retriever, rows
    gc.collect()
    return result


def bench_build(encoder: Encoder, texts: list[str],
                build: Callable[[], Any]) -> dict[str, float]:
    """Raw encoder throughput vs a full forced index build, in chunks per second."""
    encoder.encode_passages(texts[:8])  # warm up
    t0 = time.perf_counter()
    encoder.encode_passages(texts)
    raw = len(texts) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    build()
    full = len(texts) / (time.perf_counter() - t0)
    return {"chunks_per_s": round(full, 1), "encoder_chunks_per_s": round(raw, 1),
            "ratio": round(full / raw, 3)}


def run_benchmark(
    encoder: Encoder,
    chunks: list[Chunk],
    real_vectors: np.ndarray,
    queries: list[str],
    sizes: list[int],
    *,
    hnsw_threshold: int,
    build: Callable[[], Any],
    unchanged_rebuild: Callable[[], Any],
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    analyzer_index = BM25Index([c.sparse_text for c in chunks[:1]])
    analyzer = analyzer_index.analyzer
    vocab: dict[str, int] = {}
    real_tokens = [[vocab.setdefault(t, len(vocab)) for t in analyzer.tokens(c.sparse_text)]
                   for c in chunks]
    report: dict[str, Any] = {"queries": len(queries), "real_chunks": len(chunks), "sizes": {}}
    for n in sizes:
        if progress:
            progress(f"{n} chunks…")
        result = bench_size(n, encoder, chunks, real_vectors, real_tokens, vocab, analyzer,
                            queries, hnsw_threshold=hnsw_threshold, rng=rng)
        report["sizes"][str(n)] = result.to_json()
    if progress:
        progress("build throughput…")
    report["build"] = bench_build(encoder, [c.embedding_text for c in chunks], build)
    t0 = time.perf_counter()
    unchanged_rebuild()
    report["build"]["unchanged_rebuild_s"] = round(time.perf_counter() - t0, 2)
    return report


def render_bench(report: dict[str, Any]) -> str:
    lines = [f"Retrieval latency over {report['queries']} real questions (encoding included)",
             f"  {'chunks':>9} {'index':>8} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>10} "
             f"{'memory MB':>10} {'build s':>8}"]
    for n, row in report["sizes"].items():
        lines.append(f"  {int(n):>9} {row['index_type']:>8} {row['p50_ms']:>8.1f} "
                     f"{row['p95_ms']:>8.1f} {row['recall_vs_exact']:>10.3f} "
                     f"{row['memory_mb']:>10.1f} {row['build_s']:>8.1f}")
    build = report["build"]
    lines += ["", f"Build: {build['chunks_per_s']} chunks/s for a full index build vs "
              f"{build['encoder_chunks_per_s']} chunks/s raw encoding ({build['ratio']:.0%}); "
              f"unchanged rebuild {build['unchanged_rebuild_s']} s"]
    return "\n".join(lines)
