"""Building, loading and refreshing the index artifact (hash encoder: fast, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.artifact import build_index, is_stale, load_artifact
from index.encoder import HashEncoder
from index.errors import IndexMismatchError, IndexNotBuiltError
from index.knowledge import load_knowledge
from index.retriever import Retriever
from tests.kb_fixture import write_knowledge


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "knowledge")


def test_build_writes_a_self_describing_folder(kb: Path, tmp_path: Path) -> None:
    knowledge = load_knowledge(kb)
    report = build_index(knowledge, HashEncoder(), tmp_path / "index")
    # 10 sections, and 7 cards of 10 questions: 10 + 10 + 7 texts embedded.
    assert report.chunks == 10 and report.cards == 7 and report.embedded == 27
    assert not report.skipped
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["model"] == "hash-64" and manifest["dims"] == 64
    assert manifest["count"] == 10 and manifest["index_type"] == "flat-ip"
    assert set(manifest["documents"]) == {"item-3.2.2", "tema-o-que-e-o-cauc"}
    assert "faiss-cpu" in manifest["versions"]
    lines = (tmp_path / "index" / "chunks.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first["doc_id"] == "item-3.2.2" and first["item"] == "3.2.2"
    assert first["heading"] == "O que verifica" and first["trilha"] == "financas"
    assert first["sources"] == [{"titulo": "Fonte de teste", "url": "https://example.org/fonte"}]
    assert manifest["cards"] == 7 and manifest["card_rows"] == 17
    card = json.loads((tmp_path / "index" / "cards.jsonl").read_text().splitlines()[0])
    assert card["key"] == "3.2.2/o-que-verifica" and card["doc_id"] == "item-3.2.2"


def test_unchanged_knowledge_skips_and_edits_reembed_only_changes(kb: Path,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "index"
    build_index(load_knowledge(kb), HashEncoder(), path)
    assert build_index(load_knowledge(kb), HashEncoder(), path).skipped
    doc = kb / "itens" / "3.2.2.md"
    doc.write_text(doc.read_text().replace("(Base legal).", "(Base legal) alterado."))
    knowledge = load_knowledge(kb)
    assert is_stale(path, knowledge, "hash-64")
    report = build_index(knowledge, HashEncoder(), path)
    assert (report.embedded, report.reused) == (1, 26)
    artifact = load_artifact(path, "hash-64", 64)
    retriever = Retriever.from_artifact(HashEncoder(), artifact)
    assert retriever.search("base legal alterado", 1)[0].chunk.heading == "Base legal"


def test_loading_refuses_another_model(kb: Path, tmp_path: Path) -> None:
    build_index(load_knowledge(kb), HashEncoder(), tmp_path / "index")
    with pytest.raises(IndexMismatchError, match=r"built with model 'hash-64'.*iara index build"):
        load_artifact(tmp_path / "index", "outro-modelo")
    with pytest.raises(IndexMismatchError, match="dims"):
        load_artifact(tmp_path / "index", "hash-64", 384)


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotBuiltError, match="iara index build"):
        load_artifact(tmp_path / "nada", "hash-64")


def test_inconsistent_artifact_is_refused(kb: Path, tmp_path: Path) -> None:
    path = tmp_path / "index"
    build_index(load_knowledge(kb), HashEncoder(), path)
    chunks = path / "chunks.jsonl"
    chunks.write_text("\n".join(chunks.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(IndexMismatchError, match="inconsistent"):
        load_artifact(path, "hash-64")


def test_retriever_filters_by_item_and_topic(kb: Path) -> None:
    from index.chunks import knowledge_chunks

    knowledge = load_knowledge(kb)
    retriever = Retriever.from_chunks(HashEncoder(), knowledge_chunks(knowledge))
    assert {h.chunk.topic for h in retriever.search("texto de teste", 20,
                                                    topic="o-que-e-o-cauc")} == {"o-que-e-o-cauc"}
    assert all(h.chunk.item == "3.2.2" for h in retriever.search("cauc", 3, item="3.2.2"))
    assert retriever.search("   ", 3) == []
