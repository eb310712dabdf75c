"""Ingestion of real formats into a trilha, with precise locators (test fixtures)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.chunks import knowledge_chunks
from index.errors import KnowledgeError
from index.ingest import IngestError, ingest, read_sections
from index.knowledge import load_knowledge
from tests.kb_fixture import write_knowledge

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def make_pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF with one line of Helvetica text per page (test data)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        page_id, content_id = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_id} 0 R")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Contents {content_id} 0 R /Resources << /Font << /F1 "
                       f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>")
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content.decode('latin-1')}"
                       "\nendstream")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return bytes(out)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "knowledge")


def test_html_keeps_headings_and_drops_page_chrome() -> None:
    title, sections = read_sections(FIXTURES / "artigo.html")
    assert title == "Artigo de teste sobre o envio do RREO"
    assert [s.heading for s in sections] == ["Introdução", "Prazo do relatório", "Quem assina"]
    assert "- Primeiro passo de teste." in sections[1].text
    text = " ".join(s.text for s in sections)
    assert "alert" not in text and "Rodapé" not in text and "Menu do portal" not in text


def test_markdown_sections_and_title() -> None:
    title, sections = read_sections(FIXTURES / "artigo.md")
    assert title == "Artigo em Markdown de teste"
    assert [s.heading for s in sections] == ["Introdução", "Primeira seção de teste",
                                             "Segunda seção de teste"]
    assert "autor" not in sections[0].text


def test_vtt_passages_start_at_their_timestamps() -> None:
    _, sections = read_sections(FIXTURES / "entrevista.vtt")
    assert [s.heading for s in sections] == [
        "Trecho a partir de 00:01", "Trecho a partir de 01:40", "Trecho a partir de 12:34"]
    assert sections[0].text.startswith("Bom dia, esta é uma entrevista de teste.")
    assert "<v" not in sections[0].text


def test_srt_passages_start_at_their_timestamps() -> None:
    _, sections = read_sections(FIXTURES / "podcast.srt")
    assert [s.heading for s in sections] == ["Trecho a partir de 00:00",
                                             "Trecho a partir de 02:10"]


def test_pdf_sections_are_pages(tmp_path: Path) -> None:
    pdf = tmp_path / "cartilha.pdf"
    pdf.write_bytes(make_pdf(["Pagina um da cartilha de teste", "",
                              "Pagina tres da cartilha de teste"]))
    _, sections = read_sections(pdf)
    assert [s.heading for s in sections] == ["Página 1", "Página 3"]
    assert "tres da cartilha" in sections[1].text


def test_ingested_transcript_is_indexed_with_time_links(kb: Path) -> None:
    report = ingest(FIXTURES / "entrevista.vtt", kb, trilha="financas", formato="entrevista",
                    title="Entrevista de teste", url="https://example.org/entrevista",
                    item="3.2.2")
    assert report.doc_id == "conteudo-entrevista-de-teste" and report.sections == 3
    knowledge = load_knowledge(kb)
    assert knowledge.trilhas[0].conteudos[-1] == "conteudo-entrevista-de-teste"
    chunks = [c for c in knowledge_chunks(knowledge) if c.doc_id == report.doc_id]
    assert chunks[2].heading == "Trecho a partir de 12:34"
    assert chunks[2].source_url == "https://example.org/entrevista#t=754"
    assert chunks[2].format == "entrevista" and chunks[2].item == "3.2.2"


def test_ingested_pdf_links_to_its_page(kb: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "cartilha.pdf"
    pdf.write_bytes(make_pdf(["Pagina um de teste", "Pagina dois de teste"]))
    ingest(pdf, kb, trilha="financas", formato="cartilha", title="Cartilha de teste",
           url="https://example.org/cartilha.pdf")
    chunks = [c for c in knowledge_chunks(load_knowledge(kb))
              if c.doc_id == "conteudo-cartilha-de-teste"]
    assert [c.source_url for c in chunks] == ["https://example.org/cartilha.pdf#page=1",
                                              "https://example.org/cartilha.pdf#page=2"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"trilha": "nao-existe", "formato": "video"}, "unknown trilha 'nao-existe'"),
    ({"trilha": "financas", "formato": "blog"}, "format must be one of"),
    ({"trilha": "financas", "formato": "cartilha"}, "a transcript is a video"),
    ({"trilha": "financas", "formato": "video", "url": "ftp://x"}, "invalid url"),
    ({"trilha": "financas", "formato": "video", "item": "9.9"}, "unknown CAUC item code"),
])
def test_bad_ingestion_is_refused_and_changes_nothing(kb: Path, kwargs: dict,
                                                      message: str) -> None:
    before = (kb / "trilhas.yml").read_text()
    with pytest.raises(IngestError, match=message):
        ingest(FIXTURES / "podcast.srt", kb, title="Podcast de teste", **kwargs)
    assert (kb / "trilhas.yml").read_text() == before
    assert not (kb / "conteudos").exists() or not list((kb / "conteudos").iterdir())


def test_unsupported_or_empty_files_are_refused(kb: Path, tmp_path: Path) -> None:
    docx = tmp_path / "arquivo.docx"
    docx.write_bytes(b"PK")
    with pytest.raises(IngestError, match="unsupported format"):
        ingest(docx, kb, trilha="financas", formato="texto", title="X")
    empty = tmp_path / "vazio.md"
    empty.write_text("# Título\n")
    with pytest.raises(IngestError, match="no text found"):
        ingest(empty, kb, trilha="financas", formato="artigo")


def test_existing_content_needs_overwrite(kb: Path) -> None:
    ingest(FIXTURES / "artigo.md", kb, trilha="financas", formato="artigo")
    with pytest.raises(IngestError, match="already exists"):
        ingest(FIXTURES / "artigo.md", kb, trilha="financas", formato="artigo")
    ingest(FIXTURES / "artigo.md", kb, trilha="financas", formato="artigo", overwrite=True)
    assert load_knowledge(kb).trilhas[0].conteudos.count("conteudo-artigo-em-markdown-de-teste") \
        == 1


def test_content_that_breaks_the_knowledge_is_rolled_back(kb: Path, tmp_path: Path) -> None:
    # A knowledge that is already broken elsewhere: the ingestion must not leave files.
    shutil.copy(kb / "qa" / "3.2.2.yml", kb / "qa" / "copia.yml")
    with pytest.raises(KnowledgeError):
        load_knowledge(kb)
    before = (kb / "trilhas.yml").read_text()
    with pytest.raises(IngestError, match="would make the knowledge invalid"):
        ingest(FIXTURES / "artigo.md", kb, trilha="financas", formato="artigo")
    assert (kb / "trilhas.yml").read_text() == before
    assert not (kb / "conteudos" / "artigo-em-markdown-de-teste.md").exists()
