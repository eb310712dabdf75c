"""Retrieval with the real embedding model on the real knowledge and its built index."""

from __future__ import annotations

import pytest

from iara.services import get_answerer
from index.answer import Answerer
from index.knowledge import OUT_OF_SCOPE, Knowledge

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def answerer() -> Answerer:
    return get_answerer()


@pytest.mark.parametrize("question", [
    "qual o prazo para enviar o RREO ao Siconfi?",
    "até quando tenho que mandar o relatório resumido da execução orçamentária pro siconfi",
    "prazo de envio do rreo bimestral",
])
def test_rreo_deadline_questions_get_the_rreo_chunk_first(answerer: Answerer,
                                                          question: str) -> None:
    hits = answerer.retriever.search(question, 5)
    assert hits[0].chunk.item in {"3.2.1", "3.2.2"}
    answer = answerer.answer(question)
    assert answer.found
    assert answer.citations[0].title.endswith("› Prazos e validade")
    assert "30 dias" in answer.text


def test_real_model_is_the_configured_one(answerer: Answerer) -> None:
    assert answerer.retriever.encoder.dims == 384
    assert len(answerer.retriever.chunks) > 300


@pytest.mark.parametrize(("question", "item"), [
    ("meu crp venceu, e agora?", "4.2"),
    ("a certidão do fgts da prefeitura está vencida", "1.3"),
    ("o TJ registrou atraso nos precatórios do município", "1.2"),
    ("não homologamos o siops do 3º bimestre", "3.2.4"),
    ("faltou mandar a matriz de saldos contábeis de maio", "3.4.1"),
    ("cadastro da dívida pública no sadipem pendente", "3.5"),
    ("aplicamos menos de 25% em manutenção do ensino", "5.1"),
    ("não chegamos aos 70% do fundeb com professores", "5.5"),
    ("prestação de contas de convênio no transferegov reprovada", "2.1.2"),
    ("câmara não homologou o relatório de gestão fiscal", "3.1.2"),
])
def test_questions_retrieve_their_item_first(answerer: Answerer, question: str,
                                             item: str) -> None:
    assert answerer.retriever.search(question, 1)[0].chunk.item == item


def test_hybrid_finds_the_right_topic_on_most_dev_questions(answerer: Answerer,
                                                            knowledge: Knowledge) -> None:
    """A floor, not a target: `iara eval retrieval` measured recall@1 0.85 when written."""
    in_scope = [d for d in knowledge.dev if d.topic != OUT_OF_SCOPE]
    right = sum(answerer.retriever.search(d.q, 1)[0].chunk.topic == d.topic for d in in_scope)
    assert right / len(in_scope) >= 0.80
