"""Each validator rule, proven with a fixture broken in exactly one way."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from index.cards import card_to_fields, render_cards
from index.cauc import BY_CODE, ITEMS
from index.errors import KnowledgeError
from index.knowledge import (
    ASPECTS_FILE,
    ITEM_SECTIONS,
    QUESTION_TYPES,
    SYSTEMS_FILE,
    Knowledge,
    find_mentions,
    load_knowledge,
)
from tests.kb_fixture import FONTE, ITEM_FRONT, QA_ITEM, card, item_body, write_knowledge

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
BLIND_SHA256 = "ee0ba78ffc1c621d131accc4e86c281428bb02eb90bc492a0747002e57363f22"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "knowledge")


def problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    return [str(p) for p in info.value.problems]


def test_valid_fixture_loads(kb: Path) -> None:
    knowledge = load_knowledge(kb)
    assert [d.id for d in knowledge.documents] == ["item-3.2.2", "tema-o-que-e-o-cauc"]
    item = knowledge.document("item-3.2.2")
    assert [s.heading for s in item.sections] == list(ITEM_SECTIONS)
    assert item.sections[0].line == ITEM_FRONT.count("\n") + 2
    assert knowledge.trilhas_of("item-3.2.2")[0].id == "financas"
    assert len(knowledge.cards) == 7 and len(knowledge.questions) == 10
    assert knowledge.dev[0].must_mention == ("30 dias",)
    assert item.sinonimos == ("envio do rreo de teste", "rreo no siconfi de teste",
                              "homologação do rreo de teste")
    assert knowledge.item_synonyms()["homologacao do rreo de teste"] == "3.2.2"
    assert [(s.nome, s.orgao, s.itens) for s in knowledge.systems] == [
        ("Siconfi de teste", "STN", ("3.2.2",))]
    assert knowledge.system_synonyms() == {"siconfi de teste": "Siconfi de teste",
                                           "siconfi teste": "Siconfi de teste"}


def test_missing_front_matter(kb: Path) -> None:
    (kb / "itens" / "3.2.2.md").write_text("## O que verifica\nTexto.\n", encoding="utf-8")
    found = problems(kb)
    assert any("itens/3.2.2.md:1: missing front matter" in p for p in found)


def test_invalid_yaml_names_line(kb: Path) -> None:
    broken = ITEM_FRONT.replace('titulo: "Encaminhamento', 'titulo: Encaminhamento: "x')
    (kb / "itens" / "3.2.2.md").write_text(broken + item_body(), encoding="utf-8")
    found = problems(kb)
    assert any("itens/3.2.2.md:" in p and "not valid YAML" in p and "quote values" in p
               for p in found)


def test_required_field_missing(kb: Path) -> None:
    broken = ITEM_FRONT.replace('sistema: "Siconfi"\n', "")
    (kb / "itens" / "3.2.2.md").write_text(broken + item_body(), encoding="utf-8")
    assert any("need the field 'sistema'" in p for p in problems(kb))


def test_unknown_item_code(kb: Path) -> None:
    broken = ITEM_FRONT.replace('item: "3.2.2"', 'item: "9.9"')
    (kb / "itens" / "3.2.2.md").write_text(broken + item_body(), encoding="utf-8")
    found = problems(kb)
    assert any("unknown CAUC item code '9.9'" in p and "3.2.2.md:4" in p for p in found)


def test_bad_format(kb: Path) -> None:
    broken = ITEM_FRONT.replace("formato: texto", "formato: blog")
    (kb / "itens" / "3.2.2.md").write_text(broken + item_body(), encoding="utf-8")
    assert any("'formato' must be one of" in p and "3.2.2.md:7" in p for p in problems(kb))


def test_sources_required(kb: Path) -> None:
    broken = ITEM_FRONT.replace(
        'fontes:\n  - titulo: "Fonte de teste"\n    url: "https://example.org/fonte"\n',
        "fontes: []\n")
    (kb / "itens" / "3.2.2.md").write_text(broken + item_body(), encoding="utf-8")
    assert any("'fontes' must be a non-empty list" in p for p in problems(kb))


def test_bad_source_url(kb: Path) -> None:
    broken = ITEM_FRONT.replace("https://example.org/fonte", "example.org/fonte")
    (kb / "itens" / "3.2.2.md").write_text(broken + item_body(), encoding="utf-8")
    assert any("invalid url" in p for p in problems(kb))


def test_missing_item_section(kb: Path) -> None:
    sections = tuple(h for h in ITEM_SECTIONS if h != "Como regularizar")
    (kb / "itens" / "3.2.2.md").write_text(ITEM_FRONT + item_body(sections), encoding="utf-8")
    assert any("missing section(s): ## Como regularizar" in p for p in problems(kb))


def test_sections_out_of_order(kb: Path) -> None:
    sections = (ITEM_SECTIONS[1], ITEM_SECTIONS[0], *ITEM_SECTIONS[2:])
    (kb / "itens" / "3.2.2.md").write_text(ITEM_FRONT + item_body(sections), encoding="utf-8")
    assert any("sections out of order" in p for p in problems(kb))


def test_empty_section_names_its_line(kb: Path) -> None:
    body = item_body().replace("Texto de teste do item 3.2.2 (Base legal).", "")
    (kb / "itens" / "3.2.2.md").write_text(ITEM_FRONT + body, encoding="utf-8")
    found = problems(kb)
    line = (ITEM_FRONT + body).splitlines().index("## Base legal") + 1
    assert f"knowledge/itens/3.2.2.md:{line}: section 'Base legal' is empty" in found


def test_file_name_must_match_item(kb: Path) -> None:
    (kb / "itens" / "3.2.2.md").rename(kb / "itens" / "3.2.1.md")
    assert any("must be named 3.2.2.md" in p for p in problems(kb))


def test_trilha_reference_must_resolve(kb: Path) -> None:
    (kb / "trilhas.yml").write_text(
        "- id: t\n  titulo: T\n  conteudos: [tema-o-que-e-o-cauc, item-3.2.2, item-4.2]\n",
        encoding="utf-8")
    assert any("lists 'item-4.2', which is no document id" in p for p in problems(kb))


def test_document_must_be_in_a_trilha(kb: Path) -> None:
    (kb / "trilhas.yml").write_text(
        "- id: t\n  titulo: T\n  conteudos: [tema-o-que-e-o-cauc]\n", encoding="utf-8")
    assert any("'item-3.2.2' is in no trilha" in p for p in problems(kb))


def test_duplicate_question_across_files(kb: Path) -> None:
    (kb / "qa" / "o-que-e-o-cauc.yml").write_text(
        "tema: o-que-e-o-cauc\ncartoes:\n" + card(
            "o-que-e", "o_que_e", "O que é o CAUC de teste?", "Um cadastro de teste.", "O que é",
            perguntas=("Prazo do RREO de teste",)), encoding="utf-8")
    found = problems(kb)
    assert any("o-que-e-o-cauc.yml:11: duplicate question" in p and "3.2.2.yml:" in p
               for p in found)


def test_question_target_must_exist(kb: Path) -> None:
    (kb / "qa" / "4.2.yml").write_text('item: "4.2"\ncartoes:\n' + card(
        "crp", "geral", "O que é o CRP?", "Um certificado.", "O que verifica"),
        encoding="utf-8")
    assert any("target '4.2' has no document" in p for p in problems(kb))


def test_question_file_needs_one_target(kb: Path) -> None:
    (kb / "qa" / "x.yml").write_text("cartoes: []\n", encoding="utf-8")
    assert any("name exactly one target" in p for p in problems(kb))


def test_dev_question_must_not_be_in_training(kb: Path) -> None:
    (kb / "dev.yml").write_text(
        '- q: "prazo do rreo de teste?"\n  item: "3.2.2"\n  topic: "3.2.2"\n'
        "  must_mention: []\n", encoding="utf-8")
    assert any("3.2.2.yml:" in p and "a card question is also in dev.yml" in p
               for p in problems(kb))


def test_blind_question_in_a_card_is_reported_without_its_text(kb: Path) -> None:
    (kb / "blind.yml").write_text(
        '- q: "Prazo do RREO de teste"\n  item: "3.2.2"\n  topic: "3.2.2"\n'
        "  style: curta\n  must_mention: []\n"
        '- q: "segredo"\n  item: null\n  topic: "inexistente"\n  must_mention: []\n',
        encoding="utf-8")
    found = problems(kb)
    assert any("a card question is also in blind.yml" in p for p in found)
    assert any("entry #2 has unknown topic 'inexistente'" in p for p in found)
    assert not any("segredo" in p or "Prazo do RREO de teste" in p for p in found)


def test_dev_topic_must_exist(kb: Path) -> None:
    (kb / "dev.yml").write_text(
        '- q: "outra"\n  item: null\n  topic: "inexistente"\n  must_mention: []\n',
        encoding="utf-8")
    assert any("unknown topic 'inexistente'" in p for p in problems(kb))


def test_all_problems_reported_at_once(kb: Path) -> None:
    (kb / "trilhas.yml").write_text("- id: t\n  titulo: T\n  conteudos: [nada]\n",
                                    encoding="utf-8")
    (kb / "qa" / "4.2.yml").write_text('item: "4.2"\ncartoes: []\n', encoding="utf-8")
    assert len(problems(kb)) >= 3


# --- answer cards ---------------------------------------------------------------------


def write_tema_cards(kb: Path, *cards: str) -> Path:
    path = kb / "qa" / "o-que-e-o-cauc.yml"
    path.write_text("tema: o-que-e-o-cauc\ncartoes:\n" + "".join(cards), encoding="utf-8")
    return path


def test_cards_load_with_their_questions_and_steps(kb: Path) -> None:
    knowledge = load_knowledge(kb)
    how = knowledge.card("3.2.2/como-regularizar")
    assert how.tipo == "como_regularizar" and how.passos == (
        "Gere o relatório de teste.", "Homologue o relatório de teste.")
    assert how.questions == ("Como regularizar o item de teste?", "como envio o rreo de teste")
    assert [(q.text, q.tipo, q.card) for q in knowledge.questions
            if q.card == "3.2.2/prazo"] == [
        ("Qual o prazo do item de teste?", "prazo", "3.2.2/prazo"),
        ("prazo do rreo de teste?", "prazo", "3.2.2/prazo")]
    assert knowledge.sources[FONTE].oficial is True


def test_answer_over_sixty_words_is_refused(kb: Path) -> None:
    write_tema_cards(kb, card("longo", "o_que_e", "O que é o CAUC de teste?",
                              " ".join(["palavra"] * 61), "O que é"))
    assert any("o-que-e-o-cauc.yml:6: card 'longo': the answer has 61 words" in p
               for p in problems(kb))


def test_yes_no_question_needs_a_yes_or_no_answer(kb: Path) -> None:
    write_tema_cards(kb, card("fpm", "geral", "Pendência no CAUC bloqueia o FPM de teste?",
                              "O FPM de teste é transferência constitucional.", "O que é"))
    assert any("card 'fpm': the question asks yes or no" in p for p in problems(kb))
    write_tema_cards(kb, card("fpm", "geral", "Pendência no CAUC bloqueia o FPM de teste?",
                              "Não. O FPM de teste é transferência constitucional.", "O que é"))
    load_knowledge(kb)


def test_card_section_must_exist_in_its_document(kb: Path) -> None:
    write_tema_cards(kb, card("x", "o_que_e", "O que é o CAUC de teste?", "Um cadastro.",
                              "Seção inexistente"))
    assert any("card 'x': 'secao' 'Seção inexistente' is no section of" in p
               and "its sections are: O que é" in p for p in problems(kb))


def test_card_sources_must_come_from_the_reference_list(kb: Path) -> None:
    path = write_tema_cards(kb, card("x", "o_que_e", "O que é o CAUC de teste?",
                                     "Um cadastro.", "O que é"))
    path.write_text(path.read_text(encoding="utf-8").replace(
        FONTE, "https://example.org/inventada"), encoding="utf-8")
    assert any("source https://example.org/inventada is not in knowledge/fontes.yml" in p
               for p in problems(kb))


def test_card_fields_are_checked_with_their_lines(kb: Path) -> None:
    write_tema_cards(kb, "  - id: Com Espaço\n    tipo: prazos\n    pergunta: \"Oi?\"\n"
                     "    resposta: \"Sim.\"\n    secao: \"O que é\"\n    fontes: []\n"
                     "    cor: azul\n")
    found = problems(kb)
    assert any("o-que-e-o-cauc.yml:9: unknown card field 'cor'" in p for p in found)
    assert any("o-que-e-o-cauc.yml:3: card needs 'fontes'" in p for p in found)


def test_steps_are_short_and_few(kb: Path) -> None:
    write_tema_cards(kb, card("x", "como_regularizar", "Como regularizo o CAUC de teste?",
                              "Siga os passos.", "O que é",
                              passos=tuple(f"Passo {n}." for n in range(6))))
    assert any("card 'x': 6 steps; at most 5" in p for p in problems(kb))


def test_every_item_needs_a_card_of_each_kind(kb: Path) -> None:
    path = kb / "qa" / "3.2.2.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("  - id: base-legal")], encoding="utf-8")
    assert any("qa/3.2.2.yml: Item 3.2.2" in p and "no answer card of type base_legal, "
               "sistema_responsavel" in p for p in problems(kb))


def test_old_question_lists_are_refused(kb: Path) -> None:
    (kb / "qa" / "o-que-e-o-cauc.yml").write_text(
        "tema: o-que-e-o-cauc\nperguntas:\n  - o que e o cauc de teste\n", encoding="utf-8")
    found = problems(kb)
    assert any("unknown key(s) perguntas" in p for p in found)
    assert any("no 'cartoes': list the answer cards" in p for p in found)


def test_canonical_layout_round_trips(kb: Path) -> None:
    knowledge = load_knowledge(kb)
    cards = [card_to_fields(c) for c in knowledge.cards_of("3.2.2")]
    rendered = render_cards("3.2.2", cards, is_item=True)
    assert yaml.safe_load(rendered)["cartoes"] == [
        {k: v for k, v in c.items() if v} for c in cards]
    tricky = render_cards("3.2.2", [{**cards[0], "pergunta": 'Diz "sim": ou não?\\'}],
                          is_item=True)
    assert 'pergunta: "Diz \\"sim\\": ou não?\\\\"' in tricky
    assert yaml.safe_load(tricky)["cartoes"][0]["pergunta"] == 'Diz "sim": ou não?\\'


# --- item synonyms --------------------------------------------------------------------


def second_item(kb: Path, sinonimos: str) -> None:
    """Item 3.2.1 with the given ``sinonimos`` line, in the fixture's trilha."""
    front = ITEM_FRONT.replace("3.2.2", "3.2.1").replace('relacionados: ["3.2.1"]',
                                                         'relacionados: ["3.2.2"]')
    front = "\n".join(sinonimos if line.startswith("sinonimos:") else line
                      for line in front.split("\n"))
    (kb / "itens" / "3.2.1.md").write_text(front + item_body(), encoding="utf-8")
    (kb / "qa" / "3.2.1.yml").write_text(
        QA_ITEM.replace("3.2.2", "3.2.1").replace("de teste", "de teste do 3.2.1"),
        encoding="utf-8")
    (kb / "trilhas.yml").write_text(
        "- id: financas\n  titulo: T\n"
        "  conteudos: [tema-o-que-e-o-cauc, item-3.2.2, item-3.2.1]\n", encoding="utf-8")


def sinonimos_line() -> int:
    return ITEM_FRONT.split("\n").index(
        next(line for line in ITEM_FRONT.split("\n") if line.startswith("sinonimos:"))) + 1


def test_second_item_with_own_synonyms_loads(kb: Path) -> None:
    second_item(kb, 'sinonimos: ["publicação do rreo de teste", "atestado do rreo de teste"]')
    synonyms = load_knowledge(kb).item_synonyms()
    assert synonyms["publicacao do rreo de teste"] == "3.2.1"
    assert synonyms["envio do rreo de teste"] == "3.2.2"


def test_synonym_shared_by_two_items_is_rejected(kb: Path) -> None:
    second_item(kb, 'sinonimos: ["atestado do rreo de teste", "Envio do RREO de teste"]')
    assert any("synonym 'Envio do RREO de teste' must be lower-case" in p
               for p in problems(kb))
    second_item(kb, 'sinonimos: ["atestado do rreo de teste", "envio do rreo de teste"]')
    found = problems(kb)
    assert f"knowledge/itens/3.2.2.md:{sinonimos_line()}: synonym 'envio do rreo de teste' " \
        "is also a synonym of item 3.2.1 (knowledge/itens/3.2.1.md); a synonym names one " \
        "item" in found


def test_synonym_compared_without_accents_and_punctuation(kb: Path) -> None:
    second_item(kb, 'sinonimos: ["homologacao do rreo, de teste"]')
    assert any("synonym 'homologação do rreo de teste' is also a synonym of item 3.2.1" in p
               for p in problems(kb))


@pytest.mark.parametrize(("synonym", "message"), [
    ("3.2.1", "synonym '3.2.1' is the code of item 3.2.1"),
    ("rreo", "synonym 'rreo' is too generic"),
    ("Siope", "synonym 'Siope' must be lower-case"),
    ("", "empty synonym"),
])
def test_bad_synonym_is_rejected_with_its_line(kb: Path, synonym: str, message: str) -> None:
    broken = ITEM_FRONT.replace('sinonimos: ["envio do rreo de teste"',
                                f'sinonimos: ["{synonym}", "envio do rreo de teste"')
    (kb / "itens" / "3.2.2.md").write_text(broken + item_body(), encoding="utf-8")
    assert any(f"3.2.2.md:{sinonimos_line()}: {message}" in p for p in problems(kb))


def test_synonyms_are_only_for_items(kb: Path) -> None:
    tema = (kb / "temas" / "o-que-e-o-cauc.md").read_text(encoding="utf-8")
    (kb / "temas" / "o-que-e-o-cauc.md").write_text(
        tema.replace("formato: texto\n", "formato: texto\nsinonimos: [\"cauc de teste\"]\n"),
        encoding="utf-8")
    assert any("o-que-e-o-cauc.md:6: 'sinonimos' is only for items" in p for p in problems(kb))


def test_mentions_are_whole_words_longest_first() -> None:
    names = {"rreo": "A", "anexo 8 do rreo": "B", "siafi": "C", "siafic": "D", "aro": "E"}
    assert find_mentions("o Anexo 8 do RREO e o rreo, claro", names) == ["B", "A"]
    assert find_mentions("siafic da câmara; SIAFI.", names) == ["D", "C"]
    assert find_mentions("nada aqui", names) == []


# --- source systems -------------------------------------------------------------------


def write_systems(kb: Path, text: str) -> None:
    (kb / SYSTEMS_FILE).write_text(text, encoding="utf-8")


def test_systems_file_is_optional(kb: Path) -> None:
    (kb / SYSTEMS_FILE).unlink()
    assert load_knowledge(kb).systems == []


def test_system_items_must_exist(kb: Path) -> None:
    write_systems(kb, '- nome: A\n  itens: ["9.9"]\n- nome: B\n  itens: ["4.2"]\n'
                      "- nome: C\n  sinonimos: [c]\n")
    found = problems(kb)
    assert any("entidades.yml:2: system 'A' names unknown item code '9.9'" in p for p in found)
    assert any("entidades.yml:3: system 'B' feeds item 4.2, which has no document" in p
               for p in found)
    assert any("entidades.yml:5: system 'C' needs 'itens'" in p for p in found)


def test_system_names_are_unique(kb: Path) -> None:
    write_systems(kb, '- nome: Siconfi\n  itens: ["3.2.2"]\n'
                      '- nome: Outro\n  sinonimos: ["siconfi"]\n  itens: ["3.2.2"]\n')
    assert any("entidades.yml:3: 'siconfi' names both 'Siconfi' and 'Outro'" in p
               for p in problems(kb))


def test_system_name_is_an_item_synonym_only_if_it_feeds_that_item_alone(kb: Path) -> None:
    write_systems(kb, '- nome: Sistema\n  sinonimos: ["rreo no siconfi de teste"]\n'
                      '  itens: ["3.2.2"]\n')
    assert load_knowledge(kb).system_synonyms()["rreo no siconfi de teste"] == "Sistema"
    second_item(kb, 'sinonimos: ["atestado do rreo de teste"]')
    write_systems(kb, '- nome: Sistema\n  sinonimos: ["rreo no siconfi de teste"]\n'
                      '  itens: ["3.2.2", "3.2.1"]\n')
    assert any("'rreo no siconfi de teste' names system 'Sistema', which feeds 3.2.2, 3.2.1, "
               "so it cannot be a synonym of item 3.2.2 alone" in p for p in problems(kb))


# --- the shipped knowledge ------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Knowledge:
    return load_knowledge(KNOWLEDGE)


def test_shipped_knowledge_validates(shipped: Knowledge) -> None:
    assert len([d for d in shipped.documents if d.tipo == "item"]) == len(ITEMS)
    assert len(shipped.cards) >= 300 and len(shipped.questions) >= 1500
    assert len(shipped.blind) >= 200 and len(shipped.dev) >= 150


def test_every_shipped_card_question_is_typed(shipped: Knowledge) -> None:
    assert all(q.tipo in QUESTION_TYPES and q.card for q in shipped.questions)
    assert {q.tipo for q in shipped.questions} == set(QUESTION_TYPES)


def test_shipped_cards_are_in_the_canonical_layout(shipped: Knowledge) -> None:
    """The committed files are exactly what an analyst's edit writes back."""
    for path in sorted((KNOWLEDGE / "qa").glob("*.yml")):
        topic = path.stem
        cards = [card_to_fields(c) for c in shipped.cards if c.path == path]
        assert path.read_text(encoding="utf-8") == render_cards(
            topic, cards, is_item=topic in BY_CODE), path.name


def test_blind_set_is_frozen() -> None:
    """The blind set is written once, from the reference alone, and never changed: its
    failures are never read, so editing it would only hide them."""
    digest = hashlib.sha256((KNOWLEDGE / "blind.yml").read_bytes()).hexdigest()
    assert digest == BLIND_SHA256


def test_every_shipped_item_has_synonyms(shipped: Knowledge) -> None:
    for item in ITEMS:
        doc = shipped.by_topic(item.code)
        assert doc is not None and 3 <= len(doc.sinonimos) <= 10, item.code
    synonyms = shipped.item_synonyms()
    assert synonyms["anexo 8"] == "3.2.3" and synonyms["crp"] == "4.2"
    assert shipped.items_mentioned("o anexo 12 do rreo e a msc de encerramento") == [
        "3.2.4", "3.4.2"]


def test_aspects_file_is_optional_and_validated(kb: Path) -> None:
    assert load_knowledge(kb).aspects == {}
    (kb / ASPECTS_FILE).write_text("prazo: [prazo, 'até quando']\nbase_legal: [lei]\n",
                                   encoding="utf-8")
    knowledge = load_knowledge(kb)
    assert knowledge.aspect_expressions() == {"prazo": "prazo", "ate quando": "prazo",
                                              "lei": "base_legal"}
    assert knowledge.aspects_mentioned("Qual a LEI? e até quando?") == ["base_legal", "prazo"]
    (kb / ASPECTS_FILE).write_text("prazo: [prazo]\ngeral: [x]\nbase_legal: [Prazo]\n"
                                   "o_que_e: oi\n", encoding="utf-8")
    found = problems(kb)
    assert any("aspectos.yml:2: unknown question type 'geral'" in p for p in found)
    assert any("aspectos.yml:3: expression 'Prazo' appears in both 'prazo' and "
               "'base_legal'" in p for p in found)
    assert any("aspectos.yml:4: 'o_que_e' must be a list of non-empty texts" in p
               for p in found)


def test_shipped_aspects_cover_every_question_type(shipped: Knowledge) -> None:
    assert set(shipped.aspects) == set(QUESTION_TYPES) - {"geral"}
    assert shipped.aspects_mentioned("até quando envio o rreo e qual a base legal?") == [
        "prazo", "base_legal"]


def test_shipped_systems_feed_existing_items(shipped: Knowledge) -> None:
    names = {s.nome: s.itens for s in shipped.systems}
    assert names["CADPREV"] == ("4.2",) and "3.2.3" in names["SIOPE"]
    assert shipped.system_synonyms()["siconv"] == "Transferegov.br"
