"""Factories that build the library's objects from the settings (lazily, once)."""

from __future__ import annotations

from functools import lru_cache

from iara.settings import Settings, get_settings
from index.analyzer import PortugueseAnalyzer
from index.answer import Answerer
from index.artifact import load_artifact
from index.encoder import SentenceTransformerEncoder
from index.evaluate import Search
from index.finetune import effective_model
from index.knowledge import Knowledge, load_knowledge
from index.retriever import Retriever


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


@lru_cache(maxsize=1)
def get_answerer() -> Answerer:
    """The configured answerer: real model and index; loaded on first use, then cached."""
    settings = get_settings()
    encoder = make_encoder(settings)
    artifact = load_artifact(settings.index_path, encoder.name, encoder.dims)
    retriever = Retriever.from_artifact(encoder, artifact,
                                        analyzer=PortugueseAnalyzer(settings.spacy_pipeline))
    return Answerer(retriever, k=settings.top_k, min_score=settings.min_score,
                    min_sparse=settings.min_sparse_score, public_url=settings.public_base_url)


@lru_cache(maxsize=1)
def get_knowledge() -> Knowledge:
    """The configured knowledge, loaded once per process."""
    return load_configured_knowledge()
