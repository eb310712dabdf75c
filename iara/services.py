"""Factories that build the library's objects from the settings (lazily, once)."""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from iara.settings import Settings, get_settings
from index.analyzer import PortugueseAnalyzer
from index.answer import Answerer
from index.artifact import load_artifact
from index.encoder import SentenceTransformerEncoder
from index.evaluate import Search
from index.finetune import effective_model
from index.knowledge import Knowledge, load_knowledge
from index.retriever import Retriever

logger = logging.getLogger(__name__)


def encoder_spec(settings: Settings | None = None) -> tuple[str, str]:
    """(location, name) of the encoder in use: the accepted fine-tuned model or the base."""
    settings = settings or get_settings()
    return effective_model(settings.embedding_model, settings.encoder_dir,
                           settings.finetune_encoder)


def make_encoder(settings: Settings | None = None, *, base: bool = False
                 ) -> SentenceTransformerEncoder:
    settings = settings or get_settings()
    location, name = ((settings.embedding_model, settings.embedding_model) if base
                      else encoder_spec(settings))
    return SentenceTransformerEncoder(location, name=name,
                                      batch_size=settings.embedding_batch_size,
                                      offline=settings.offline)


def load_configured_knowledge(settings: Settings | None = None) -> Knowledge:
    return load_knowledge((settings or get_settings()).knowledge_dir)


def retrieval_methods(retriever: Retriever, settings: Settings | None = None
                      ) -> dict[str, Search]:
    """The methods `iara eval retrieval` compares, keyed by the names its JSON uses:
    `dense` is the base model; `dense_finetuned` appears when the fine-tuned one is in use
    (and `hybrid` then fuses BM25 with it)."""
    settings = settings or get_settings()
    methods: dict[str, Search] = {"bm25": lambda q, k: retriever.search(q, k, mode="sparse")}
    if encoder_spec(settings)[1] != settings.embedding_model:
        base = Retriever.from_chunks(make_encoder(settings, base=True), retriever.chunks,
                                     hybrid=False)
        methods["dense"] = lambda q, k: base.search(q, k, mode="dense")
        methods["dense_finetuned"] = lambda q, k: retriever.search(q, k, mode="dense")
    else:
        methods["dense"] = lambda q, k: retriever.search(q, k, mode="dense")
    methods["hybrid"] = lambda q, k: retriever.search(q, k, mode="hybrid")
    return methods


def build_answerer(settings: Settings, index_path: Path,
                   encoder: SentenceTransformerEncoder | None = None,
                   analyzer: PortugueseAnalyzer | None = None) -> Answerer:
    encoder = encoder or make_encoder(settings)
    artifact = load_artifact(index_path, encoder.name, encoder.dims)
    retriever = Retriever.from_artifact(
        encoder, artifact, analyzer=analyzer or PortugueseAnalyzer(settings.spacy_pipeline))
    return Answerer(retriever, k=settings.top_k, min_score=settings.min_score,
                    min_sparse=settings.min_sparse_score, public_url=settings.public_base_url)


class ReloadingAnswerer:
    """An :class:`Answerer` that follows the deployed index version.

    Every few seconds it checks the index pointer (``iara.admin.releases``); when it moved,
    one caller loads the new index (same encoder and analyzer) while every other caller
    keeps answering with the old one, then the reference is swapped in one assignment.
    """

    CHECK_EVERY_S = 2.0

    def __init__(self, settings: Settings) -> None:
        from iara.admin.releases import current_index

        self._settings = settings
        self._current_index = current_index
        path = current_index(settings)
        self._encoder = make_encoder(settings)
        self._analyzer = PortugueseAnalyzer(settings.spacy_pipeline)
        self._answerer = build_answerer(settings, path, self._encoder, self._analyzer)
        self._path = path
        self._checked = time.monotonic()
        self._loading = threading.Lock()

    def current(self) -> Answerer:
        now = time.monotonic()
        if now - self._checked >= self.CHECK_EVERY_S and self._loading.acquire(blocking=False):
            try:
                self._checked = now
                path = self._current_index(self._settings)
                if path != self._path:
                    fresh = build_answerer(self._settings, path, self._encoder, self._analyzer)
                    self._answerer, self._path = fresh, path
                    logger.info("Serving the index at %s", path)
            except Exception:
                logger.exception("Could not load the new index; the old one keeps serving")
            finally:
                self._loading.release()
        return self._answerer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


@lru_cache(maxsize=1)
def get_answerer() -> Answerer:
    """The configured answerer: real model and the deployed index; loaded on first use,
    then cached (it follows index deploys: see :class:`ReloadingAnswerer`)."""
    return cast(Answerer, ReloadingAnswerer(get_settings()))


@lru_cache(maxsize=1)
def get_knowledge() -> Knowledge:
    """The configured knowledge, loaded once per process."""
    return load_configured_knowledge()
