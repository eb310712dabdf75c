"""Shared fixtures: the real knowledge, and a fast retriever over it (hash encoder)."""

from __future__ import annotations

import pytest

from iara.settings import get_settings
from index.chunks import knowledge_chunks
from index.encoder import HashEncoder
from index.knowledge import Knowledge, load_knowledge
from index.retriever import Retriever


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge(get_settings().knowledge_dir)


@pytest.fixture(scope="session")
def hash_retriever(knowledge: Knowledge) -> Retriever:
    """Real chunks and real BM25; a hash encoder instead of the model (fast)."""
    return Retriever.from_chunks(HashEncoder(256), knowledge_chunks(knowledge))
