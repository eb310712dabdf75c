"""Answer cards: ranking (checked against a brute-force max over the card rows) and the
short answer composed from them, with the hash encoder (fast, deterministic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.analyzer import PortugueseAnalyzer
from index.answer import Answerer
from index.card_index import CardHit, CardIndex, IndexedCard, card_rows, indexed_cards
from index.encoder import HashEncoder
from index.knowledge import load_knowledge
from index.retriever import Retriever
from tests.kb_fixture import write_knowledge

OFFICIAL = {"titulo": "Página oficial", "url": "https://gov.br/oficial", "oficial": True}
OTHER = {"titulo": "Notícia", "url": "https://example.org/noticia", "oficial": False}


def make_card(key: str, tipo: str, pergunta: str, resposta: str, *perguntas: str,
              passos: tuple[str, ...] = (), sources: tuple[dict, ...] = (OTHER,)
              ) -> IndexedCard:
    topic = key.split("/")[0]
    return IndexedCard(key=key, topic=topic, tipo=tipo, pergunta=pergunta, resposta=resposta,
                       passos=passos, perguntas=perguntas, doc_id=f"item-{topic}",
                       title=f"Item {topic}", secao="Prazos e validade", sources=sources,
                       names=f"item {topic}", item=topic)


CARDS = [
    make_card("4.2/prazo", "prazo", "Quanto tempo vale o CRP?",
              "O CRP vale 180 dias.", "crp validade", "certificado previdenciario vence quando",
              sources=(OTHER, OFFICIAL)),
    make_card("4.2/como", "como_regularizar", "Como regularizar o CRP?",
              "Consulte o extrato previdenciário no CADPREV e sane cada critério.",
              "como tiro a pendencia do crp", passos=("Abra o CADPREV.", "Sane cada critério.")),
    make_card("1.3/prazo", "prazo", "Quanto tempo vale o CRF do FGTS?",
              "O CRF do FGTS vale 30 dias.", "validade certidao fgts"),
    make_card("1.3/fonte", "sistema_responsavel", "Quem emite o CRF do FGTS?",
              "A Caixa emite o CRF.", "onde tiro o crf"),
]


@pytest.fixture(scope="module")
def index() -> CardIndex:
    return CardIndex.build(HashEncoder(), CARDS, analyzer=PortugueseAnalyzer())


def test_dense_score_is_the_best_row_of_each_card(index: CardIndex) -> None:
    query = "validade do crp"
    rows = [(i, text) for i, card in enumerate(CARDS) for text in card_rows(card)]
    vectors = HashEncoder().encode_passages([t for _, t in rows])
    similarities = vectors @ HashEncoder().encode_queries([query])[0]
    expected = [max(s for (owner, _), s in zip(rows, similarities, strict=True) if owner == i)
                for i in range(len(CARDS))]
    assert np.allclose(index.dense_scores(query), expected, atol=1e-6)


def test_a_paraphrase_finds_its_card(index: CardIndex) -> None:
    assert index.search("crp validade", 1)[0].card.key == "4.2/prazo"
    assert index.search("onde tiro o crf", 1)[0].card.key == "1.3/fonte"


def test_topics_restrict_the_cards(index: CardIndex) -> None:
    hits = index.search("crp validade", 5, topics=["1.3"])
    assert {h.card.topic for h in hits} == {"1.3"} and len(hits) == 2
    assert index.search("crp", 5, topics=["9.9"]) == []


def test_edge_cases(index: CardIndex) -> None:
    assert index.search("   ", 3) == [] and index.search("crp", 0) == []
    assert len(index.search("crp", 50)) <= len(CARDS)
    empty = CardIndex(HashEncoder(), [], np.zeros((0, 64), dtype=np.float32))
    assert empty.search("crp", 3) == []
    with pytest.raises(ValueError, match="card vectors"):
        CardIndex(HashEncoder(), CARDS, np.zeros((2, 64), dtype=np.float32))


def answerer(index: CardIndex, **thresholds: float) -> Answerer:
    retriever = Retriever.from_chunks(HashEncoder(), [])
    return Answerer(retriever, index, public_url="http://iara.test", **thresholds)


def test_answer_is_the_cards_direct_answer_with_its_sources(index: CardIndex) -> None:
    answer = answerer(index).answer("crp validade")
    assert answer.found and answer.text == "O CRP vale 180 dias."
    assert answer.cards == ["4.2/prazo"] and answer.item == "4.2"
    assert [c.url for c in answer.citations] == [OFFICIAL["url"], OTHER["url"]]
    assert answer.explanation is not None and answer.explanation.url == (
        "http://iara.test/conteudos/item-4.2#prazos-e-validade")


def test_how_questions_get_the_steps(index: CardIndex) -> None:
    answer = answerer(index).answer("como tiro a pendencia do crp")
    assert answer.text.splitlines()[0].startswith("Consulte o extrato")
    assert "1. Abra o CADPREV.\n2. Sane cada critério." in answer.text


def test_two_things_asked_get_two_cards_of_the_same_topic(index: CardIndex) -> None:
    answer = answerer(index).answer("qual a validade do crp e como regularizar?")
    assert answer.cards == ["4.2/prazo", "4.2/como"]
    assert "180 dias" in answer.text and "CADPREV" in answer.text


def test_below_the_thresholds_iara_does_not_know(index: CardIndex) -> None:
    strict = answerer(index, min_card_score=2.0)
    answer = strict.answer("crp validade")
    assert not answer.found and answer.suggestions[0] == "Quanto tempo vale o CRP?"
    # A named item is answered whatever the scores.
    assert strict.answer("e a validade?", item="1.3").cards == ["1.3/prazo"]


def test_a_follow_up_stays_on_the_previous_topic(index: CardIndex) -> None:
    strict = answerer(index, min_card_score=2.0)
    assert strict.answer("e quem emite?", context_topic="1.3",
                         question_types=["sistema_responsavel"]).cards == ["1.3/fonte"]


def test_cards_carry_their_document_and_sources(tmp_path: Path) -> None:
    knowledge = load_knowledge(write_knowledge(tmp_path / "knowledge"))
    cards = {c.key: c for c in indexed_cards(knowledge)}
    prazo = cards["3.2.2/prazo"]
    assert prazo.doc_id == "item-3.2.2" and prazo.anchor == "prazos-e-validade"
    assert prazo.trilha == "financas" and prazo.item == "3.2.2"
    assert prazo.sources == ({"titulo": "Fonte de teste", "url": "https://example.org/fonte",
                              "oficial": True},)
    assert "envio do rreo de teste" in prazo.names
    assert IndexedCard.from_json(prazo.to_json()) == prazo


def test_the_type_asked_wins_only_when_its_card_is_close() -> None:
    from index.answer import ASPECT_MARGIN

    def hit(card: IndexedCard, score: float) -> CardHit:
        return CardHit(card=card, score=score, dense=score, sparse=0.0)

    how, deadline = CARDS[1], CARDS[0]
    close = [hit(how, 0.95), hit(deadline, 0.95 - ASPECT_MARGIN / 2)]
    far = [hit(how, 0.95), hit(deadline, 0.95 - 2 * ASPECT_MARGIN)]
    assert Answerer._preferred(close, ["prazo"], ASPECT_MARGIN) is deadline
    assert Answerer._preferred(far, ["prazo"], ASPECT_MARGIN) is how
    assert Answerer._preferred(far, ["prazo"], float("inf")) is deadline
    assert Answerer._preferred(far, [], ASPECT_MARGIN) is how
