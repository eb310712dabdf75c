"""Ingestion of real content formats into a trilha.

A file (PDF cartilha, HTML or Markdown artigo, WebVTT/SRT transcript of a vídeo, podcast
or entrevista) becomes a knowledge document ``knowledge/conteudos/<slug>.md`` whose
sections keep a precise locator: the page of a PDF, the heading of an article, the start
time of a transcript passage ("Trecho a partir de 12:34"). The document is appended to
the trilha's ordered contents. The text is then indexed like any other document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

from index.cauc import BY_CODE
from index.errors import IaraError, KnowledgeError
from index.knowledge import FORMATS, TRANSCRIPT_FORMATS, load_knowledge
from index.text import slugify

TRANSCRIPT_WINDOW_S = 90  # seconds of speech per transcript passage
TRANSCRIPT_MAX_WORDS = 220
PROSE_MAX_WORDS = 220


class IngestError(IaraError):
    """The file cannot be ingested (format, content or target); the message says why."""


@dataclass(frozen=True)
class IngestedSection:
    heading: str
    text: str


def format_timestamp(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def transcript_heading(seconds: float) -> str:
    return f"Trecho a partir de {format_timestamp(seconds)}"


_TRANSCRIPT_HEADING = re.compile(r"^Trecho a partir de (?:(\d+):)?(\d{2}):(\d{2})$")


def heading_start_seconds(heading: str) -> int | None:
    """The start time encoded in a transcript section heading, in seconds."""
    match = _TRANSCRIPT_HEADING.match(heading)
    if not match:
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _words(text: str) -> int:
    return len(text.split())


def _split_prose(paragraphs: list[str], label: str) -> list[IngestedSection]:
    """Group paragraphs into passages of at most PROSE_MAX_WORDS words."""
    sections: list[IngestedSection] = []
    current: list[str] = []
    for paragraph in paragraphs:
        if current and _words(" ".join([*current, paragraph])) > PROSE_MAX_WORDS:
            sections.append(IngestedSection("", "\n\n".join(current)))
            current = []
        current.append(paragraph)
    if current:
        sections.append(IngestedSection("", "\n\n".join(current)))
    if len(sections) == 1:
        return [IngestedSection(label, sections[0].text)]
    return [IngestedSection(f"{label} (parte {i})", s.text) for i, s in enumerate(sections, 1)]


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text).strip()


# --- readers ---------------------------------------------------------------------------


def read_pdf(path: Path) -> list[IngestedSection]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, OSError, ValueError) as exc:
        raise IngestError(f"{path.name}: not a readable PDF ({exc})") from exc
    sections: list[IngestedSection] = []
    for number, text in enumerate(pages, start=1):
        paragraphs = [_clean(p) for p in re.split(r"\n\s*\n", text) if _clean(p)]
        if not paragraphs:
            continue
        if len(paragraphs) == 1:  # many PDFs extract a page as one block of lines
            paragraphs = [_clean(" ".join(text.split()))]
        sections.extend(_split_prose(paragraphs, f"Página {number}"))
    return sections


def read_html(path: Path) -> tuple[str | None, list[IngestedSection]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form", "noscript"]):
        tag.decompose()
    h1 = soup.find("h1")
    title = _clean(h1.get_text(" ")) if h1 else (
        _clean(soup.title.get_text(" ")) if soup.title else None)
    root = soup.find("article") or soup.find("main") or soup.body or soup
    sections: list[IngestedSection] = []
    heading = "Introdução"
    paragraphs: list[str] = []

    def flush() -> None:
        if paragraphs:
            sections.extend(_split_prose(list(paragraphs), heading))
            paragraphs.clear()

    for element in root.find_all(["h2", "h3", "p", "li", "blockquote"]):
        text = _clean(element.get_text(" "))
        if not text:
            continue
        if element.name in ("h2", "h3"):
            flush()
            heading = text
        elif element.name != "p" or element.find_parent("li") is None:
            paragraphs.append(f"- {text}" if element.name == "li" else text)
    flush()
    return title, sections


_MD_FRONT = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)


def read_markdown(path: Path) -> tuple[str | None, list[IngestedSection]]:
    text = _MD_FRONT.sub("", path.read_text(encoding="utf-8"))
    title_match = re.search(r"^# +(.+)$", text, re.MULTILINE)
    title = title_match.group(1).strip() if title_match else None
    sections: list[IngestedSection] = []
    heading = "Introdução"
    lines: list[str] = []

    def flush() -> None:
        paragraphs = [_clean(p) for p in re.split(r"\n\s*\n", "\n".join(lines)) if _clean(p)]
        if paragraphs:
            sections.extend(_split_prose(paragraphs, heading))
        lines.clear()

    for line in text.splitlines():
        match = re.match(r"^#{2,3} +(.+)$", line)
        if match:
            flush()
            heading = match.group(1).strip()
        elif not line.startswith("# "):
            lines.append(line)
    flush()
    return title, sections


def _group_cues(cues: list[tuple[float, str]]) -> list[IngestedSection]:
    """Transcript cues (start seconds, text) -> passages headed by their start time."""
    sections: list[IngestedSection] = []
    start: float | None = None
    texts: list[str] = []
    for cue_start, text in cues:
        if start is not None and (cue_start - start >= TRANSCRIPT_WINDOW_S
                                  or _words(" ".join(texts)) >= TRANSCRIPT_MAX_WORDS):
            sections.append(IngestedSection(transcript_heading(start), " ".join(texts)))
            start, texts = None, []
        if start is None:
            start = cue_start
        texts.append(text)
    if start is not None and texts:
        sections.append(IngestedSection(transcript_heading(start), " ".join(texts)))
    return sections


def _cue_text(raw: str) -> str:
    return _clean(re.sub(r"<[^>]+>", "", raw.replace("\n", " ")))


def read_vtt(path: Path) -> list[IngestedSection]:
    import webvtt

    try:
        captions = webvtt.read(str(path))
    except Exception as exc:  # webvtt raises its own MalformedFileError and others
        raise IngestError(f"{path.name}: not a valid WebVTT file ({exc})") from exc
    cues = [(float(c.start_in_seconds), _cue_text(c.text)) for c in captions.captions
            if _cue_text(c.text)]
    return _group_cues(cues)


def read_srt(path: Path) -> list[IngestedSection]:
    import srt

    try:
        subtitles = list(srt.parse(path.read_text(encoding="utf-8-sig")))
    except (srt.SRTParseError, ValueError) as exc:
        raise IngestError(f"{path.name}: not a valid SRT file ({exc})") from exc
    cues = [(s.start / timedelta(seconds=1), _cue_text(s.content)) for s in subtitles
            if _cue_text(s.content)]
    return _group_cues(cues)


READERS = {".pdf": "pdf", ".html": "html", ".htm": "html", ".md": "markdown",
           ".markdown": "markdown", ".vtt": "vtt", ".srt": "srt"}


def read_sections(path: Path) -> tuple[str | None, list[IngestedSection]]:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise IngestError(f"{path.name}: unsupported format; use one of "
                          f"{', '.join(sorted(READERS))}")
    if not path.is_file():
        raise IngestError(f"{path}: file not found")
    if kind == "pdf":
        return None, read_pdf(path)
    if kind == "html":
        return read_html(path)
    if kind == "markdown":
        return read_markdown(path)
    return None, read_vtt(path) if kind == "vtt" else read_srt(path)


# --- writing into the knowledge ---------------------------------------------------------


@dataclass(frozen=True)
class IngestReport:
    path: Path
    doc_id: str
    sections: int
    trilha: str


def ingest(
    source: Path,
    knowledge_dir: Path,
    *,
    trilha: str,
    formato: str,
    title: str | None = None,
    url: str | None = None,
    item: str | None = None,
    overwrite: bool = False,
) -> IngestReport:
    """Write ``source`` as a knowledge document and append it to ``trilha``."""
    if formato not in FORMATS:
        raise IngestError(f"format must be one of {', '.join(FORMATS)}, not {formato!r}")
    is_transcript = source.suffix.lower() in (".vtt", ".srt")
    if is_transcript and formato not in TRANSCRIPT_FORMATS:
        raise IngestError(f"a transcript is a {', '.join(TRANSCRIPT_FORMATS)}, not {formato!r}")
    if url is not None and not re.match(r"^https?://\S+$", url):
        raise IngestError(f"invalid url {url!r} (must start with http:// or https://)")
    if item is not None and item not in BY_CODE:
        raise IngestError(f"unknown CAUC item code {item!r}")
    trilhas_path = knowledge_dir / "trilhas.yml"
    trilhas = yaml.safe_load(trilhas_path.read_text(encoding="utf-8")) or []
    target = next((t for t in trilhas if t.get("id") == trilha), None)
    if target is None:
        known = ", ".join(str(t.get("id")) for t in trilhas)
        raise IngestError(f"unknown trilha {trilha!r}; known trilhas: {known}")

    found_title, sections = read_sections(source)
    if not sections:
        raise IngestError(f"{source.name}: no text found to index")
    title = title or found_title
    if not title:
        raise IngestError(f"{source.name}: no title found; pass --title")
    slug = slugify(title)[:80] or slugify(source.stem)
    doc_id = f"conteudo-{slug}"
    out = knowledge_dir / "conteudos" / f"{slug}.md"
    if out.exists() and not overwrite:
        raise IngestError(f"{out} already exists; pass --overwrite to replace it")

    front: dict[str, object] = {"id": doc_id, "tipo": "conteudo", "titulo": title,
                                "formato": formato, "origem": source.name}
    if url:
        front["url"] = url
    if item:
        front["item"] = item
    front["fontes"] = [{"titulo": title, **({"url": url} if url else {})}]
    body = "".join(f"\n## {s.heading}\n\n{s.text}\n" for s in sections)
    previous_doc = out.read_text(encoding="utf-8") if out.exists() else None
    previous_trilhas = trilhas_path.read_text(encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
                   + "---\n" + body, encoding="utf-8")
    if doc_id not in target.get("conteudos", []):
        target.setdefault("conteudos", []).append(doc_id)
        trilhas_path.write_text(yaml.safe_dump(trilhas, allow_unicode=True, sort_keys=False,
                                               width=100), encoding="utf-8")
    try:  # the whole knowledge must stay valid; otherwise undo both writes
        load_knowledge(knowledge_dir)
    except KnowledgeError as exc:
        trilhas_path.write_text(previous_trilhas, encoding="utf-8")
        if previous_doc is None:
            out.unlink()
        else:
            out.write_text(previous_doc, encoding="utf-8")
        details = "; ".join(str(p) for p in exc.problems[:5])
        raise IngestError(f"the content would make the knowledge invalid: {details}") from exc
    return IngestReport(out, doc_id, len(sections), trilha)
