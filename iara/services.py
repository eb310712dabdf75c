"""Factories that build the library's objects from the settings (lazily, once)."""

from __future__ import annotations

from functools import lru_cache

from iara.settings import Settings, get_settings
from index.answer import Answerer
from index.encoder import SentenceTransformerEncoder
from index.evaluate import Search
from index.knowledge import Knowledge, load_knowledge
from index.retriever import Retriever, load_retriever


def make_encoder(settings: Settings | None = None) -> SentenceTransformerEncoder:
    settings = settings or get_settings()
    return SentenceTransformerEncoder(
        settings.embedding_model, batch_size=settings.embedding_batch_size,
        offline=settings.offline)


def load_configured_knowledge(settings: Settings | None = None) -> Knowledge:
    return load_knowledge((settings or get_settings()).knowledge_dir)


def retrieval_methods(retriever: Retriever) -> dict[str, Search]:
    """The methods `iara eval retrieval` compares, keyed by the names its JSON uses."""
    return {
        "bm25": lambda q, k: retriever.search(q, k, mode="sparse"),
        "dense": lambda q, k: retriever.search(q, k, mode="dense"),
        "hybrid": lambda q, k: retriever.search(q, k, mode="hybrid"),
    }


@lru_cache(maxsize=1)
def get_answerer() -> Answerer:
    """The configured answerer: real model and index; loaded on first use, then cached."""
    settings = get_settings()
    retriever = load_retriever(
        str(settings.index_path), settings.embedding_model,
        batch_size=settings.embedding_batch_size, offline=settings.offline)
    return Answerer(retriever, k=settings.top_k, min_score=settings.min_score,
                    min_sparse=settings.min_sparse_score, public_url=settings.public_base_url)
