"""The index artifact: a self-describing folder.

```
<index_dir>/
  manifest.json   model, dims, index type, versions, per-document hashes, knowledge hash
  chunks.jsonl    one Chunk per line, in vector order
  vectors.faiss   the FAISS index
  cards.jsonl     one answer card per line (with its document, trilha and sources)
  card_vectors.npy  one row per card question (and per card answer), card after card
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

from index.card_index import IndexedCard, card_rows, indexed_cards
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

SCHEMA_VERSION = 2  # 2: answer cards
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.faiss"
CARDS = "cards.jsonl"
CARD_VECTORS = "card_vectors.npy"


@dataclass(frozen=True)
class BuildReport:
    path: Path
    chunks: int
    embedded: int
    reused: int
    seconds: float
    skipped: bool = False
    cards: int = 0


@dataclass
class IndexArtifact:
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: FlatIPIndex | HNSWIndex
    cards: list[IndexedCard]
    card_vectors: np.ndarray


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
    with (path / CARDS).open(encoding="utf-8") as handle:
        cards = [IndexedCard.from_json(json.loads(line)) for line in handle if line.strip()]
    card_vectors = np.load(path / CARD_VECTORS)
    rows = sum(len(card_rows(card)) for card in cards)
    if len(vectors) != len(chunks) or manifest.get("count") != len(chunks) \
            or len(card_vectors) != rows:
        raise IndexMismatchError(
            f"index at {path} is inconsistent ({len(vectors)} vectors, {len(chunks)} chunks, "
            f"{len(card_vectors)} card vectors for {rows} card rows): rebuild with "
            "'iara index build --force'")
    return IndexArtifact(manifest, chunks, vectors, cards, card_vectors)


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
    cards = indexed_cards(knowledge)
    # Vectors of the previous build, by what was embedded ("c:<chunk id>", "t:<card row>").
    previous: dict[str, np.ndarray] = {}
    if not force:
        try:
            old = load_artifact(path, encoder.name)
        except (IndexNotBuiltError, IndexMismatchError, OSError):
            old = None
        if old is not None:
            old_vectors = old.vectors.vectors()
            previous = {f"c:{c.id}": old_vectors[i] for i, c in enumerate(old.chunks)}
            old_rows = [text for card in old.cards for text in card_rows(card)]
            previous.update((f"t:{text}", old.card_vectors[i])
                            for i, text in enumerate(old_rows))

    chunk_keys = [f"c:{c.id}" for c in chunks]
    row_texts = [text for card in cards for text in card_rows(card)]
    row_keys = [f"t:{text}" for text in row_texts]
    texts = {**{f"c:{c.id}": c.embedding_text for c in chunks},
             **dict(zip(row_keys, row_texts, strict=True))}
    missing = [key for key in dict.fromkeys(chunk_keys + row_keys) if key not in previous]
    fresh = encoder.encode_passages([texts[key] for key in missing]) if missing else \
        np.zeros((0, encoder.dims), dtype=np.float32)
    embedded = {**previous, **dict(zip(missing, fresh, strict=True))}
    dims = encoder.dims
    matrix = np.zeros((len(chunks), dims), dtype=np.float32)
    for row, key in enumerate(chunk_keys):
        matrix[row] = embedded[key]
    card_matrix = np.zeros((len(row_keys), dims), dtype=np.float32)
    for row, key in enumerate(row_keys):
        card_matrix[row] = embedded[key]

    vectors = build_vector_index(matrix, hnsw_threshold=hnsw_threshold)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "model": encoder.name,
        "dims": dims,
        "index_type": vectors.kind,
        "count": len(chunks),
        "cards": len(cards),
        "card_rows": len(row_keys),
        "knowledge_fingerprint": knowledge.fingerprint,
        "documents": {d.id: d.sha256 for d in knowledge.documents},
        "versions": _versions(),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_atomically(path, manifest, chunks, vectors, cards, card_matrix)
    seconds = time.perf_counter() - started
    total = len(chunks) + len(row_keys)
    logger.info("Index built at %s: %d chunks and %d card texts (%d embedded) in %.1fs",
                path, len(chunks), len(row_keys), len(missing), seconds)
    return BuildReport(path, len(chunks), len(missing), total - len(missing), seconds,
                       cards=len(cards))


def _write_atomically(
    path: Path, manifest: dict[str, Any], chunks: list[Chunk], vectors: FlatIPIndex | HNSWIndex,
    cards: list[IndexedCard], card_vectors: np.ndarray,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    vectors.save(tmp / VECTORS)
    with (tmp / CHUNKS).open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")
    with (tmp / CARDS).open("w", encoding="utf-8") as handle:
        for card in cards:
            handle.write(json.dumps(card.to_json(), ensure_ascii=False) + "\n")
    np.save(tmp / CARD_VECTORS, card_vectors.astype(np.float32))
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
