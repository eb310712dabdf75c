"""Portuguese normalisation and the BM25 wrapper, against hand-checked answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from index.analyzer import PortugueseAnalyzer
from index.sparse import BM25Index


@pytest.fixture(scope="module")
def analyzer() -> PortugueseAnalyzer:
    return PortugueseAnalyzer()


@pytest.mark.parametrize(("text", "expected"), [
    ("Quais são os prazos para enviar o RREO ao Siconfi?", ["prazo", "enviar", "rreo", "siconfi"]),
    ("PRAZO rreo", ["prazo", "rreo"]),
    ("certidões vencidas", ["certidao", "vencido"]),
    ("o item 3.2.2. está pendente", ["item", "3.2.2", "pendente"]),
    ("siops e siope", ["siops", "siope"]),
])
def test_tokens(analyzer: PortugueseAnalyzer, text: str, expected: list[str]) -> None:
    assert analyzer.tokens(text) == expected


@pytest.mark.parametrize(("text", "canonical"), [
    ("certidão previdenciária vencida", "crp"),
    ("certidao previdenciaria", "crp"),
    ("mandei o anexo 8", "siope"),
    ("educação no RREO", "siope"),
    ("relatório de gestão fiscal", "rgf"),
    ("nunca instituímos o ITBI", "competencia"),
])
def test_synonyms_add_canonical_terms(analyzer: PortugueseAnalyzer, text: str,
                                      canonical: str) -> None:
    assert canonical in analyzer.tokens(text)


def test_accents_and_case_do_not_matter(analyzer: PortugueseAnalyzer) -> None:
    assert analyzer.tokens("Previdência MUNICÍPIO") == analyzer.tokens("previdencia municipio")


def test_bm25_matches_the_formula_by_hand(analyzer: PortugueseAnalyzer) -> None:
    # Token lengths 1, 2 and 3 (avgdl 2); "rreo" is in 2 of the 3 passages.
    index = BM25Index(["rreo", "crp vencido", "rreo siope siops"], analyzer)
    scores = index.scores("rreo")
    # bm25s "lucene" variant: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
    # term score = idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)), k1 = 1.5, b = 0.75.
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    assert scores[0] == pytest.approx(idf / (1 + 1.5 * (1 - 0.75 + 0.75 * 1 / 2)), rel=1e-5)
    assert scores[1] == 0.0
    assert scores[2] == pytest.approx(idf / (1 + 1.5 * (1 - 0.75 + 0.75 * 3 / 2)), rel=1e-5)


def test_bm25_score_is_divided_by_the_distinct_query_terms(analyzer: PortugueseAnalyzer
                                                          ) -> None:
    index = BM25Index(["rreo", "crp vencido", "rreo siope siops"], analyzer)
    both = index.scores("rreo siope")
    assert both[2] == pytest.approx((index.scores("rreo")[2] + index.scores("siope")[2]) / 2,
                                    rel=1e-5)


def test_bm25_edge_cases(analyzer: PortugueseAnalyzer) -> None:
    assert len(BM25Index([], analyzer).scores("rreo")) == 0
    index = BM25Index(["prazo do rreo"], analyzer)
    assert np.all(index.scores("de o a") == 0)
    assert np.all(index.scores("palavradesconhecida") == 0)
