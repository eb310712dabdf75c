from __future__ import annotations

from iara.eval_answers import judge, totals


def test_judge_reads_items_terms_and_declines() -> None:
    answer = [{"text": "O prazo é de 30 DIAS após o bimestre.", "buttons": [],
               "sources": [{"title": "t", "url": None, "item": "3.2.2", "trilha": None,
                            "format": "texto"}]}]
    result = judge({"q": "prazo?", "item": "3.2.2", "topic": "3.2.2",
                    "must_mention": ["30 dias", "Siconfi"]}, answer)
    assert result["items"] == ["3.2.2"] and result["item_correct"] is True
    assert result["found"] == ["30 dias"] and result["declined"] is False
    refusal = judge({"q": "bolo?", "item": None, "topic": "out_of_scope", "must_mention": []},
                    [{"text": "Só falo do CAUC.", "buttons": [], "sources": []}])
    assert refusal["declined"] is True and refusal["item_correct"] is None


def test_totals() -> None:
    rows = [
        {"expected_item": "1.1", "item_correct": True, "topic": "1.1", "must_mention": ["a", "b"],
         "found": ["a"], "declined": False, "ms": 10.0},
        {"expected_item": "1.2", "item_correct": False, "topic": "1.2", "must_mention": ["c"],
         "found": ["c"], "declined": False, "ms": 30.0},
        {"expected_item": None, "item_correct": None, "topic": "out_of_scope",
         "must_mention": [], "found": [], "declined": True, "ms": 20.0},
    ]
    t = totals(rows)
    assert t["item_accuracy"] == 0.5 and t["must_mention_coverage"] == round(2 / 3, 4)
    assert t["oos_decline_rate"] == 1.0 and t["p50_ms"] == 20.0


def test_misses_are_named_by_what_iara_did_instead() -> None:
    from iara.eval_answers import evaluate, reply_prefixes
    from iara.settings import PROJECT_ROOT

    prefixes = reply_prefixes(PROJECT_ROOT / "domain.yml")
    source = {"title": "t", "url": "https://gov.br", "item": "3.2.2"}
    replies = {
        "certo": [{"text": "Até 30 dias.", "sources": [source]}],
        "outro item": [{"text": "Até 30 dias.", "sources": [{**source, "item": "3.3"}]}],
        "incompleto": [{"text": "Bimestral.", "sources": [source]}],
        "não sabe": [{"text": "Não encontrei isso  com segurança no meu conhecimento sobre "
                              "o CAUC, e prefiro não arriscar.", "sources": []}],
        "pergunta o item": [{"text": "Posso ajudar a resolver. Qual item do extrato está "
                                     "\"a comprovar\"?", "sources": []}],
        "outra coisa": [{"text": "Sobral/CE no CAUC…", "sources": []}],
    }
    questions = [{"q": q, "item": "3.2.2", "topic": "3.2.2", "must_mention": ["30 dias"]}
                 for q in replies]
    report = evaluate(lambda sender, q: replies[q], questions, prefixes)
    assert [r["miss"] for r in report["questions"]] == [
        None, "wrong_item", "missing_facts", "utter_nao_sei", "utter_perguntar_item", "other"]
    assert report["misses"]["wrong_item"] == 1 and sum(report["misses"].values()) == 5
