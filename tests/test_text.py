from __future__ import annotations

from index.answer import question_aspects
from index.text import fold, plain_text, question_key


def test_fold_strips_accents_case_and_spaces() -> None:
    assert fold("  Certidão   PREVIDENCIÁRIA ") == "certidao previdenciaria"


def test_question_key_ignores_punctuation_but_keeps_codes() -> None:
    assert question_key("Qual o prazo do item 3.2.2?") == question_key("qual o prazo do item 3.2.2")


def test_plain_text_drops_markdown_and_flattens_tables() -> None:
    md = "O **prazo** é [este](https://x.org/a):\n\n| A | B |\n|---|---|\n| 1º | 30/03 |\n"
    assert plain_text(md) == "O prazo é este (https://x.org/a):\n\nA · B\n1º · 30/03"


def test_question_aspects() -> None:
    assert question_aspects("qual o prazo do RREO?") == ["Prazos e validade"]
    assert question_aspects("como regularizo o CRP?")[0] == "Como regularizar"
    assert question_aspects("pq to pendente no cadin") == ['Por que aparece "a comprovar"']
    assert question_aspects("siope?") == []
