"""Each validator rule, proven with a fixture broken in exactly one way."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import KnowledgeError
from index.knowledge import ITEM_SECTIONS, load_knowledge
from tests.kb_fixture import ITEM_FRONT, item_body, write_knowledge


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
    assert len(knowledge.questions) == 3
    assert knowledge.dev[0].must_mention == ("30 dias",)


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
        "tema: o-que-e-o-cauc\nperguntas:\n  - o que e o cauc de teste\n"
        "  - Prazo do RREO de teste\n", encoding="utf-8")
    found = problems(kb)
    assert any("o-que-e-o-cauc.yml:4: duplicate question" in p and "3.2.2.yml:3" in p
               for p in found)


def test_question_target_must_exist(kb: Path) -> None:
    (kb / "qa" / "4.2.yml").write_text('item: "4.2"\nperguntas:\n  - crp?\n', encoding="utf-8")
    assert any("target '4.2' has no document" in p for p in problems(kb))


def test_question_file_needs_one_target(kb: Path) -> None:
    (kb / "qa" / "x.yml").write_text("perguntas:\n  - oi?\n", encoding="utf-8")
    assert any("name exactly one target" in p for p in problems(kb))


def test_dev_question_must_not_be_in_training(kb: Path) -> None:
    (kb / "dev.yml").write_text(
        '- q: "prazo do rreo de teste?"\n  item: "3.2.2"\n  topic: "3.2.2"\n'
        "  must_mention: []\n", encoding="utf-8")
    assert any("also appears in the Q&A training files" in p for p in problems(kb))


def test_dev_topic_must_exist(kb: Path) -> None:
    (kb / "dev.yml").write_text(
        '- q: "outra"\n  item: null\n  topic: "inexistente"\n  must_mention: []\n',
        encoding="utf-8")
    assert any("unknown topic 'inexistente'" in p for p in problems(kb))


def test_all_problems_reported_at_once(kb: Path) -> None:
    (kb / "trilhas.yml").write_text("- id: t\n  titulo: T\n  conteudos: [nada]\n",
                                    encoding="utf-8")
    (kb / "qa" / "4.2.yml").write_text('item: "4.2"\nperguntas:\n  - crp?\n', encoding="utf-8")
    assert len(problems(kb)) >= 3
