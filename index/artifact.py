"""The index artifact: a self-describing folder.

```
<index_dir>/
  manifest.json   model, dims, index type, versions, per-document hashes, knowledge hash
  chunks.jsonl    one Chunk per line, in vector order
  vectors.faiss   the FAISS index
```
Building writes to a temporary sibling folder and renames it into place, so a reader
never sees a half-written index. Rebuilding re-embeds only chunks whose text changed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from index.chunks import Chunk, knowledge_chunks
from index.encoder import Encoder
from index.errors import IndexMismatchError, IndexNotBuiltError
from index.knowledge import Knowledge
from index.vectors import (
    DEFAULT_HNSW_THRESHOLD,
    FlatIPIndex,
    HNSWIndex,
    build_vector_index,
    load_vector_index,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"


@dataclass(frozen=True)
class BuildReport:
    path: Path
    chunks: int
    embedded: int
    reused: int
    seconds: float
    skipped: bool = False


@dataclass
class IndexArtifact:
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: FlatIPIndex | HNSWIndex


def _versions() -> dict[str, str]:
    out = {}
    for package in ("faiss-cpu", "sentence-transformers", "torch", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[package] = version(package)
    return out


def read_manifest(path: Path) -> dict[str, Any]:
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise IndexNotBuiltError(f"no index at {path}: run 'iara index build'")
    try:
        data: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexMismatchError(f"unreadable manifest {manifest_path}: {exc}") from exc
    return data


def check_manifest(manifest: dict[str, Any], model: str, dims: int | None = None) -> None:
    """Refuse an artifact built with other settings, saying what to do."""
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"index format {manifest.get('schema_version')} is not {SCHEMA_VERSION}: "
            "rebuild with 'iara index build --force'")
    if manifest.get("model") != model:
        raise IndexMismatchError(
            f"index was built with model {manifest.get('model')!r} but the settings name "
            f"{model!r}: rebuild with 'iara index build'")
    if dims is not None and manifest.get("dims") != dims:
        raise IndexMismatchError(
            f"index has {manifest.get('dims')} dims but the model gives {dims}: rebuild")


def is_stale(path: Path, knowledge: Knowledge, model: str) -> bool:
    try:
        manifest = read_manifest(path)
        check_manifest(manifest, model)
    except (IndexNotBuiltError, IndexMismatchError):
        return True
    return bool(manifest.get("knowledge_fingerprint") != knowledge.fingerprint)


def load_artifact(path: Path, model: str, dims: int | None = None) -> IndexArtifact:
    manifest = read_manifest(path)
    check_manifest(manifest, model, dims)
    with (path / CHUNKS).open(encoding="utf-8") as handle:
        chunks = [Chunk.from_json(json.loads(line)) for line in handle if line.strip()]
    vectors = load_vector_index(path / VECTORS)
    if len(vectors) != len(chunks) or manifest.get("count") != len(chunks):
        raise IndexMismatchError(
            f"index at {path} is inconsistent ({len(vectors)} vectors, {len(chunks)} chunks): "
            "rebuild with 'iara index build --force'")
    return IndexArtifact(manifest, chunks, vectors)


def build_index(
    knowledge: Knowledge,
    encoder: Encoder,
    path: Path,
    *,
    force: bool = False,
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
) -> BuildReport:
    """Build (or refresh) the artifact at ``path`` from ``knowledge``."""
    started = time.perf_counter()
    if not force and not is_stale(path, knowledge, encoder.name):
        count = int(read_manifest(path).get("count", 0))
        return BuildReport(path, count, 0, count, time.perf_counter() - started, skipped=True)

    chunks = knowledge_chunks(knowledge)
    previous: dict[str, np.ndarray] = {}
    if not force:
        try:
            old = load_artifact(path, encoder.name)
        except (IndexNotBuiltError, IndexMismatchError):
            old = None
        if old is not None:
            old_vectors = old.vectors.vectors()
            previous = {c.id: old_vectors[i] for i, c in enumerate(old.chunks)}

    missing = [c for c in chunks if c.id not in previous]
    fresh = encoder.encode_passages([c.embedding_text for c in missing]) if missing else None
    embedded = dict(zip([c.id for c in missing], fresh if fresh is not None else [],
                        strict=True))
    dims = encoder.dims
    matrix = np.zeros((len(chunks), dims), dtype=np.float32)
    for row, chunk in enumerate(chunks):
        matrix[row] = embedded[chunk.id] if chunk.id in embedded else previous[chunk.id]

    vectors = build_vector_index(matrix, hnsw_threshold=hnsw_threshold)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "model": encoder.name,
        "dims": dims,
        "index_type": vectors.kind,
        "count": len(chunks),
        "knowledge_fingerprint": knowledge.fingerprint,
        "documents": {d.id: d.sha256 for d in knowledge.documents},
        "versions": _versions(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_atomically(path, manifest, chunks, vectors)
    seconds = time.perf_counter() - started
    logger.info("Index built at %s: %d chunks (%d embedded, %d reused) in %.1fs",
                path, len(chunks), len(missing), len(chunks) - len(missing), seconds)
    return BuildReport(path, len(chunks), len(missing), len(chunks) - len(missing), seconds)


def _write_atomically(
    path: Path, manifest: dict[str, Any], chunks: list[Chunk], vectors: FlatIPIndex | HNSWIndex
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    vectors.save(tmp / VECTORS)
    with (tmp / CHUNKS).open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
