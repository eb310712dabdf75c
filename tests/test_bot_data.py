"""Cheap consistency checks of the Rasa project, in the app environment."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

from iara.nlu_export import (
    QUESTION_INTENT,
    annotate,
    find_spans,
    nlu_questions,
    parse_example,
    reannotate,
    reannotate_file,
    render_nlu,
    vocabulary,
)
from iara.settings import get_settings
from index.knowledge import Knowledge

ROOT = get_settings().project_root
MIN_EXAMPLES = 10


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def nlu_examples(knowledge: Knowledge) -> dict[str, list[str]]:
    documents = [load(p) for p in sorted((ROOT / "bot" / "data" / "nlu").glob("*.yml"))]
    documents.append(yaml.safe_load(render_nlu(knowledge)))
    examples: dict[str, list[str]] = {}
    for document in documents:
        for block in document.get("nlu", []):
            if "intent" in block:
                lines = [strip_markup(line[2:]) for line in block["examples"].splitlines()
                         if line.strip()]
                examples.setdefault(block["intent"], []).extend(lines)
    return examples


def strip_markup(example: str) -> str:
    """An annotated example back to its text: '[crp]{"entity": ...}' -> 'crp'."""
    return re.sub(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))", r"\1", example)


def test_every_domain_action_is_implemented() -> None:
    domain = load(ROOT / "domain.yml")
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert set(domain["actions"]) <= set(executor.actions)


def test_every_intent_has_enough_examples(knowledge: Knowledge) -> None:
    domain = load(ROOT / "domain.yml")
    examples = nlu_examples(knowledge)
    for intent in domain["intents"]:
        if intent == "nlu_fallback":
            continue
        assert len(examples.get(intent, [])) >= MIN_EXAMPLES, intent


def test_rules_use_only_domain_intents_and_actions() -> None:
    domain = load(ROOT / "domain.yml")
    known_actions = set(domain["actions"]) | set(domain["responses"]) | {"action_restart"}
    for rule in load(ROOT / "bot" / "data" / "rules.yml")["rules"]:
        for step in rule["steps"]:
            if "intent" in step:
                assert step["intent"] in domain["intents"], rule["rule"]
            if "action" in step:
                assert step["action"] in known_actions, rule["rule"]


def test_responses_used_by_actions_exist() -> None:
    domain = load(ROOT / "domain.yml")
    source = "".join(p.read_text() for p in (ROOT / "bot" / "actions").glob("*.py"))
    used = set(re.findall(r'"(utter_\w+)"', source))
    assert {"utter_nao_sei", "utter_perguntar_item", "utter_transferir_humano"} <= used
    assert used <= set(domain["responses"])


def test_generated_nlu_holds_card_questions_under_one_intent(knowledge: Knowledge) -> None:
    blocks = [b for b in yaml.safe_load(render_nlu(knowledge))["nlu"] if "intent" in b]
    generated = {(b["intent"], strip_markup(line[2:]))
                 for b in blocks for line in b["examples"].splitlines() if line.strip()}
    expected = {(QUESTION_INTENT, " ".join(q.split())) for q in nlu_questions(knowledge)}
    assert generated == expected
    # Of each card: its first paraphrase and its newest (analysts append).
    card = next(c for c in knowledge.cards if len(c.perguntas) >= 3)
    exported = {text for _, text in generated}
    assert {card.perguntas[0], card.perguntas[-1]} <= exported
    assert card.perguntas[1] not in exported and card.pergunta not in exported
    domain = load(ROOT / "domain.yml")
    assert QUESTION_INTENT in domain["intents"] and "aspecto" in domain["entities"]
    assert not [i for i in domain["intents"] if i.startswith(f"{QUESTION_INTENT}_")]


def test_aspects_are_annotated_with_their_question_type(knowledge: Knowledge) -> None:
    text = "Até quando envio o anexo 8 e por que ficou a comprovar?"
    assert [(text[s.start:s.end], s.entity, s.value)
            for s in find_spans(text, vocabulary(knowledge))] == [
        ("Até quando", "aspecto", "prazo"), ("anexo 8", "item", "3.2.3"),
        ("por que", "aspecto", "por_que_pendente"),
        ("ficou a comprovar", "aspecto", "por_que_pendente")]


def test_reannotate_keeps_hand_annotations_and_redoes_the_automatic_ones(
        knowledge: Knowledge) -> None:
    vocab = vocabulary(knowledge)
    stale = ('qual o [prazo]{"entity": "item", "value": "9.9"} do crp de '
             '[Mossoró](municipio) [RN](uf)?')
    assert reannotate(stale, vocab) == (
        'qual o [prazo](aspecto) do [crp]{"entity": "item", "value": "4.2"} de '
        '[Mossoró](municipio) [RN](uf)?')
    text, spans = parse_example('[útil]{"entity": "avaliacao", "value": "util"} sim')
    assert text == "útil sim" and (spans[0].entity, spans[0].value) == ("avaliacao", "util")
    assert annotate(text, spans) == '[útil]{"entity": "avaliacao", "value": "util"} sim'


def test_hand_written_nlu_is_annotated_as_the_export_does(knowledge: Knowledge) -> None:
    # 'iara nlu annotate' fixes what this finds.
    stale = [p.name for p in sorted((ROOT / "bot" / "data" / "nlu").glob("*.yml"))
             if reannotate_file(p, knowledge, write=False)]
    assert stale == []


def test_synonyms_and_codes_are_annotated_as_entities() -> None:
    vocab = {"anexo 8": ("item", "3.2.3"), "siconfi": ("sistema", "Siconfi"),
             "cnd": ("item", "1.1")}
    text = "O Anexo 8 do 6º bimestre foi pro Siconfi? e o item 4.2 e a CNDX?"
    spans = find_spans(text, vocab)
    assert [(text[s.start:s.end], s.entity, s.value) for s in spans] == [
        ("Anexo 8", "item", "3.2.3"), ("6º bimestre", "periodo", "6º bimestre"),
        ("Siconfi", "sistema", "Siconfi"), ("4.2", "item", "4.2")]
    assert annotate(text, spans) == (
        'O [Anexo 8]{"entity": "item", "value": "3.2.3"} do [6º bimestre](periodo) foi pro '
        '[Siconfi](sistema)? e o item [4.2](item) e a CNDX?')
    # Legal references are not periods; a code that is no CAUC item is no entity.
    assert find_spans("lei 10.522/2002, item 9.9", vocab) == []


def test_no_dev_question_leaks_into_training(knowledge: Knowledge) -> None:
    from index.text import question_key

    trained = {question_key(e) for lines in nlu_examples(knowledge).values() for e in lines}
    leaked = [d.q for d in knowledge.dev if question_key(d.q) in trained]
    assert leaked == []
