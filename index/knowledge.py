"""Load and validate ``knowledge/``: documents, trilhas, Q&A, source systems and the dev set.

``load_knowledge(path)`` returns a :class:`Knowledge` or raises :class:`KnowledgeError`
listing every problem found, each located by file and line with a hint on how to fix it.
The format is documented in ``knowledge/README.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from index.cards import (
    CARDS_KEY,
    SOURCES_FILE,
    Card,
    CitedSource,
    card_to_fields,
    load_sources,
    parse_cards,
)
from index.cauc import BY_CODE, GROUPS
from index.errors import KnowledgeError, KnowledgeProblem
from index.text import fold, question_key, sha256, slugify

FORMATS = ("texto", "artigo", "cartilha", "video", "entrevista", "podcast")
TRANSCRIPT_FORMATS = ("video", "podcast", "entrevista")
KINDS = {"item": "itens", "tema": "temas", "conteudo": "conteudos"}  # tipo -> folder
ITEM_SECTIONS = (
    "O que verifica",
    "Base legal",
    "Sistema de origem e responsável",
    "A quem se aplica",
    'Por que aparece "a comprovar"',
    "Como regularizar",
    "Prazos e validade",
    "Enquanto isso: comprovação por documento",
    "Itens relacionados",
)
OPTIONAL_ITEM_SECTIONS = ("Numeração anterior",)
OUT_OF_SCOPE = "out_of_scope"
# What a Q&A question asks (the keys under 'perguntas'); a flat list is all 'geral'.
QUESTION_TYPES = ("o_que_e", "por_que_pendente", "como_regularizar", "prazo", "base_legal",
                  "sistema_responsavel", "geral")
DEFAULT_QUESTION_TYPE = "geral"
SYSTEMS_FILE = "entidades.yml"
# The expressions that mark what a question asks (the 'aspecto' entity of the NLU).
ASPECTS_FILE = "aspectos.yml"
ASPECT_TYPES = tuple(t for t in QUESTION_TYPES if t != DEFAULT_QUESTION_TYPE)
# Held-out question sets: dev (read while developing) and blind (frozen, only its totals
# are ever looked at).
EVAL_FILES = ("dev.yml", "blind.yml")
# Names of something behind several items (a group, a kind of document, a report, a system
# feeding many items): as an item synonym they would point at one item when gestores may
# mean another, so they are refused (compared folded). Systems go to entidades.yml.
GENERIC_SYNONYMS = frozenset({
    "cauc", "item", "extrato", "pendencia", "a comprovar", "prazo", "convenio", "certidao",
    "certidoes", "certificado", "receita", "despesa", "relatorio", "anexo", "limite",
    "educacao", "saude", "previdencia", "transparencia", "prestacao de contas", "fundeb",
    "vaat", "rreo", "rgf", "msc", "relatorio resumido",
    "relatorio resumido da execucao orcamentaria", "relatorio de gestao fiscal",
    "matriz de saldos contabeis", "siconfi", "siope", "siops", "transferegov",
    "transferegov.br", "tesouro", "stn",
})

# An item code typed in a message ("3.2.2", not "3.2.2.1" nor a date or money amount).
ITEM_CODE = re.compile(r"(?<![\d.])[1-5]\.[1-8](?:\.[1-4])?(?![\d.]*\d)")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_HEADING = re.compile(r"^## +(.+?)\s*$")


@dataclass(frozen=True)
class Source:
    titulo: str
    url: str | None = None


@dataclass(frozen=True)
class Section:
    heading: str
    text: str
    line: int

    @property
    def anchor(self) -> str:
        return slugify(self.heading)


@dataclass
class Document:
    id: str
    tipo: str
    titulo: str
    formato: str
    fontes: list[Source]
    sections: list[Section]
    path: Path
    sha256: str
    item: str | None = None
    grupo: str | None = None
    resumo: str = ""
    sistema: str | None = None
    url: str | None = None
    relacionados: list[str] = field(default_factory=list)
    palavras_chave: list[str] = field(default_factory=list)
    sinonimos: tuple[str, ...] = ()  # items only: short names, each unique to this item
    # Line of each front-matter field, to locate problems found after loading.
    field_lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def topic(self) -> str:
        """The item code for items (and contents about one item), the slug for temas
        (what Q&A and dev files name), the id for other contents."""
        return self.item if self.item else self.id.removeprefix("tema-")

    @property
    def display_title(self) -> str:
        return f"Item {self.item} — {self.titulo}" if self.tipo == "item" else self.titulo


@dataclass(frozen=True)
class Trilha:
    id: str
    titulo: str
    descricao: str
    conteudos: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    text: str
    topic: str  # item code or tema slug
    path: Path
    line: int
    tipo: str = DEFAULT_QUESTION_TYPE  # one of QUESTION_TYPES
    card: str | None = None  # key of the card it asks ("3.1.2/prazo-envio")


@dataclass(frozen=True)
class SourceSystem:
    """A source system gestores name (entidades.yml) and the items it feeds."""

    nome: str
    itens: tuple[str, ...]
    sinonimos: tuple[str, ...] = ()
    orgao: str | None = None
    line: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name (lower-cased) and the synonyms."""
        return (self.nome.lower(), *self.sinonimos)


@dataclass(frozen=True)
class DevQuestion:
    q: str
    item: str | None
    topic: str
    must_mention: tuple[str, ...]
    style: str | None = None  # how it is written (whatsapp, longa, dupla, curta...)


@dataclass
class Knowledge:
    root: Path
    documents: list[Document]
    trilhas: list[Trilha]
    questions: list[Question]
    dev: list[DevQuestion]
    systems: list[SourceSystem] = field(default_factory=list)
    # Question type -> the folded expressions that ask it ("ate quando" -> prazo).
    aspects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cards: list[Card] = field(default_factory=list)
    sources: dict[str, CitedSource] = field(default_factory=dict)  # fontes.yml, by URL
    blind: list[DevQuestion] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {doc.id: doc for doc in self.documents}
        self._cards = {card.key: card for card in self.cards}
        self._trilhas_of: dict[str, list[Trilha]] = {}
        for trilha in self.trilhas:
            for doc_id in trilha.conteudos:
                self._trilhas_of.setdefault(doc_id, []).append(trilha)

    def document(self, doc_id: str) -> Document:
        return self._by_id[doc_id]

    def card(self, key: str) -> Card:
        return self._cards[key]

    def cards_of(self, topic: str) -> list[Card]:
        return [card for card in self.cards if card.topic == topic]

    def by_topic(self, topic: str) -> Document | None:
        key = f"item-{topic}" if topic in BY_CODE else f"tema-{topic}"
        return self._by_id.get(key)

    def trilhas_of(self, doc_id: str) -> list[Trilha]:
        return self._trilhas_of.get(doc_id, [])

    def item_synonyms(self) -> dict[str, str]:
        """Folded item synonym -> item code ('anexo 8' -> '3.2.3')."""
        return {fold(syn): doc.item for doc in self.documents
                if doc.tipo == "item" and doc.item for syn in doc.sinonimos}

    def system_synonyms(self) -> dict[str, str]:
        """Folded system name or synonym -> canonical name ('siconv' -> 'Transferegov.br')."""
        return {fold(name): system.nome for system in self.systems for name in system.names}

    def aspect_expressions(self) -> dict[str, str]:
        """Folded expression -> the question type it asks ('ate quando' -> 'prazo')."""
        return {fold(e): tipo for tipo, expressions in self.aspects.items()
                for e in expressions}

    def aspects_mentioned(self, text: str) -> list[str]:
        """Question types whose expressions occur in ``text``, in order of appearance."""
        return find_mentions(text, self.aspect_expressions())

    def items_mentioned(self, text: str) -> list[str]:
        """Item codes whose synonyms occur in ``text`` (see :func:`find_mentions`)."""
        return find_mentions(text, self.item_synonyms())

    def named_item(self, text: str) -> str | None:
        """The one item ``text`` names by its synonyms or by a typed code; None when it
        names none or several."""
        mentioned = self.items_mentioned(text) + [
            code for code in ITEM_CODE.findall(text) if code in BY_CODE]
        return mentioned[0] if len(set(mentioned)) == 1 else None

    @property
    def fingerprint(self) -> str:
        """Changes whenever a document, a card or a cited source changes (what the index
        is built from)."""
        docs = sorted(self.documents, key=lambda d: d.id)
        cards = sorted(self.cards, key=lambda c: c.key)
        return sha256("\n".join(
            [f"{d.id}:{d.sha256}" for d in docs]
            + [f"{c.key}:{sha256(json.dumps(card_to_fields(c), ensure_ascii=False))}"
               for c in cards]
            + [f"{s.url}:{s.titulo}:{s.oficial}" for s in self.sources.values()]))


def find_mentions(text: str, names: Mapping[str, str]) -> list[str]:
    """Targets of the ``names`` (name -> target) found in ``text``, in order of appearance.

    Text and names are compared as :func:`question_key` does (case, accents and punctuation
    ignored), whole words only, longest name first, each stretch of text used once: in
    "anexo 8 do rreo" the name "anexo 8 do rreo" wins over "rreo".
    """
    haystack = question_key(text)
    found: list[tuple[int, str]] = []
    for name in sorted(names, key=lambda n: len(question_key(n)), reverse=True):
        key = question_key(name)
        if not key:
            continue
        for match in re.finditer(rf"(?<!\w){re.escape(key)}(?!\w)", haystack):
            start, end = match.span()
            found.append((start, names[name]))
            haystack = haystack[:start] + "\0" * (end - start) + haystack[end:]
    ordered = [target for _, target in sorted(found)]
    return list(dict.fromkeys(ordered))


# ---------------------------------------------------------------------------------------
# Loading


def load_knowledge(root: Path) -> Knowledge:
    """Load everything under ``root``; raise KnowledgeError with all problems found."""
    problems: list[KnowledgeProblem] = []
    if not root.is_dir():
        raise KnowledgeError([KnowledgeProblem(str(root), "knowledge folder not found")])
    documents = [
        doc
        for folder in KINDS.values()
        for path in sorted((root / folder).glob("*.md"))
        if (doc := _load_document(path, root, problems)) is not None
    ]
    _check_unique_ids(documents, root, problems)
    trilhas = _load_trilhas(root / "trilhas.yml", root, problems)
    cards = _load_cards(root / "qa", root, problems)
    questions = [Question(text, card.topic, card.path, line, card.tipo, card.key)
                 for card in cards for text, line in zip(card.questions, card.question_lines,
                                                         strict=True)]
    dev, blind = (_load_dev(root / name, root, problems) for name in EVAL_FILES)
    systems = _load_systems(root / SYSTEMS_FILE, root, problems)
    aspects = _load_aspects(root / ASPECTS_FILE, root, problems)
    sources = load_sources(root / SOURCES_FILE, _rel(root / SOURCES_FILE, root), problems)
    knowledge = Knowledge(root, documents, trilhas, questions, dev, systems, aspects, cards,
                          sources, blind)
    _check_references(knowledge, problems)
    _check_cards(knowledge, problems)
    _check_synonyms(knowledge, problems)
    if problems:
        raise KnowledgeError(problems)
    return knowledge


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _yaml_error_line(exc: yaml.YAMLError, offset: int = 0) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 + offset if mark is not None else None


def _key_line(text: str, key: str, offset: int = 0) -> int | None:
    match = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 + offset if match else None


def _load_document(path: Path, root: Path, problems: list[KnowledgeProblem]) -> Document | None:
    rel = _rel(path, root)
    raw = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(raw)
    if not match:
        problems.append(
            KnowledgeProblem(rel, "missing front matter: start the file with '---', the "
                             "fields, and a closing '---' line (see knowledge/README.md)", 1)
        )
        return None
    front_text = match.group(1)
    try:
        meta = yaml.safe_load(front_text) or {}
    except yaml.YAMLError as exc:
        problems.append(
            KnowledgeProblem(rel, "front matter is not valid YAML "
                             f"({getattr(exc, 'problem', exc)}); quote values that contain ':' "
                             "or start with a special character", _yaml_error_line(exc, offset=1))
        )
        return None
    if not isinstance(meta, dict):
        problems.append(KnowledgeProblem(rel, "front matter must be a mapping of fields", 2))
        return None

    def fail(message: str, key: str | None = None) -> None:
        line = _key_line(front_text, key, offset=1) if key else 1
        problems.append(KnowledgeProblem(rel, message, line))

    start = len(problems)
    for key in ("id", "tipo", "titulo", "formato", "fontes"):
        if not meta.get(key):
            fail(f"required field '{key}' is missing or empty")
    tipo = meta.get("tipo")
    if tipo not in KINDS:
        fail(f"'tipo' must be one of {', '.join(KINDS)}, not {tipo!r}", "tipo")
    formato = meta.get("formato")
    if formato and formato not in FORMATS:
        fail(f"'formato' must be one of {', '.join(FORMATS)}, not {formato!r}", "formato")
    expected_folder = KINDS.get(str(tipo))
    if expected_folder and path.parent.name != expected_folder:
        fail(f"a document with tipo '{tipo}' belongs in knowledge/{expected_folder}/", "tipo")

    item = meta.get("item")
    if tipo == "item":
        item = str(item) if item is not None else None
        if not item:
            fail("items need the field 'item' with the CAUC code, e.g. item: \"3.2.2\"")
        elif item not in BY_CODE:
            fail(f"unknown CAUC item code {item!r}; valid codes: {', '.join(BY_CODE)}", "item")
        elif path.stem != item:
            fail(f"the file of item {item} must be named {item}.md", "item")
        elif meta.get("id") != f"item-{item}":
            fail(f"the id of item {item} must be 'item-{item}'", "id")
        if not meta.get("sistema"):
            fail("items need the field 'sistema' (source system / responsible body)")
        grupo = meta.get("grupo")
        if item in BY_CODE and grupo != GROUPS[item.split(".")[0]]:
            fail(f"'grupo' of item {item} must be {GROUPS[item.split('.')[0]]!r}", "grupo")
    elif tipo in ("tema", "conteudo") and meta.get("id") != f"{tipo}-{path.stem}":
        fail(f"the id of this {tipo} must be '{tipo}-{path.stem}' (from its file name)", "id")
    if tipo == "conteudo" and item is not None:
        item = str(item)
        if item not in BY_CODE:
            fail(f"unknown CAUC item code {item!r}; valid codes: {', '.join(BY_CODE)}", "item")
    url = meta.get("url")
    if url is not None and not re.match(r"^https?://\S+$", str(url)):
        fail(f"invalid url {url!r} (must start with http:// or https://)", "url")

    fontes = _parse_sources(meta.get("fontes"), lambda msg: fail(msg, "fontes"))
    relacionados = [str(code) for code in meta.get("relacionados") or []]
    for code in relacionados:
        if code not in BY_CODE:
            fail(f"'relacionados' names unknown item code {code!r}", "relacionados")
    sinonimos: tuple[str, ...] = ()
    if "sinonimos" in meta:
        if tipo != "item":
            fail("'sinonimos' is only for items (tipo: item)", "sinonimos")
        else:
            sinonimos = _parse_synonyms(meta["sinonimos"], item,
                                        lambda msg: fail(msg, "sinonimos"))

    body_offset = raw.count("\n", 0, match.end())
    sections = _parse_sections(raw[match.end():], body_offset)
    if not sections:
        problems.append(KnowledgeProblem(rel, "no '## ' sections: the body needs at least one",
                                         body_offset + 1))
    for section in sections:
        if not section.text:
            problems.append(KnowledgeProblem(rel, f"section '{section.heading}' is empty",
                                             section.line))
    if tipo == "item":
        _check_item_sections(sections, rel, body_offset, problems)
    if len(problems) > start:
        return None
    return Document(
        id=str(meta["id"]),
        tipo=str(tipo),
        titulo=str(meta["titulo"]),
        formato=str(formato),
        fontes=fontes,
        sections=sections,
        path=path,
        sha256=sha256(raw),
        item=item if tipo in ("item", "conteudo") else None,
        grupo=meta.get("grupo"),
        resumo=str(meta.get("resumo") or ""),
        sistema=meta.get("sistema"),
        url=str(url) if url else None,
        relacionados=relacionados,
        palavras_chave=[str(k) for k in meta.get("palavras_chave") or []],
        sinonimos=sinonimos,
        field_lines={key: line for key in meta
                     if (line := _key_line(front_text, str(key), offset=1)) is not None},
    )


def _synonym_problem(name: str, own_code: str | None = None, *, item: bool = True) -> str | None:
    """Why ``name`` cannot be a synonym of an item (or, ``item=False``, of a system)."""
    if not name.strip():
        return "empty synonym"
    if name != name.strip() or name != name.lower():
        return f"synonym {name!r} must be lower-case, without surrounding spaces"
    if item and fold(name) in GENERIC_SYNONYMS:
        return (f"synonym {name!r} is too generic (it names something behind several "
                "items); use a longer, specific name")
    if name in BY_CODE and name != own_code:
        return f"synonym {name!r} is the code of item {name}"
    return None


def _parse_synonyms(value: Any, item: str | None, fail: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail("'sinonimos' must be a list of texts, e.g. "
             "sinonimos: [\"anexo 8\", \"siope bimestral\"]")
        return ()
    seen: set[str] = set()
    synonyms: list[str] = []
    for name in value:
        problem = _synonym_problem(name, item)
        if problem is None and question_key(name) in seen:
            problem = f"synonym {name!r} is listed twice"
        if problem:
            fail(problem)
            continue
        seen.add(question_key(name))
        synonyms.append(name)
    return tuple(synonyms)


def _parse_sources(value: Any, fail: Any) -> list[Source]:
    if not isinstance(value, list) or not value:
        fail("'fontes' must be a non-empty list of {titulo, url}")
        return []
    sources = []
    for i, entry in enumerate(value, start=1):
        if not isinstance(entry, dict) or not entry.get("titulo"):
            fail(f"source #{i} needs a 'titulo'")
            continue
        url = entry.get("url")
        if url is not None and not re.match(r"^https?://\S+$", str(url)):
            fail(f"source #{i} has an invalid url {url!r} (must start with http:// or https://)")
            continue
        sources.append(Source(str(entry["titulo"]), str(url) if url else None))
    return sources


def _parse_sections(body: str, offset: int) -> list[Section]:
    sections: list[Section] = []
    heading: str | None = None
    line_no = 0
    lines: list[str] = []
    for i, line in enumerate(body.splitlines(), start=offset + 1):
        match = _HEADING.match(line)
        if match:
            if heading is not None:
                sections.append(Section(heading, "\n".join(lines).strip(), line_no))
            heading, line_no, lines = match.group(1), i, []
        elif heading is not None:
            lines.append(line)
    if heading is not None:
        sections.append(Section(heading, "\n".join(lines).strip(), line_no))
    return sections


def _check_item_sections(
    sections: list[Section], rel: str, offset: int, problems: list[KnowledgeProblem]
) -> None:
    headings = [s.heading for s in sections]
    allowed = ITEM_SECTIONS + OPTIONAL_ITEM_SECTIONS
    for section in sections:
        if section.heading not in allowed:
            problems.append(KnowledgeProblem(
                rel, f"unexpected section '{section.heading}'; item sections are: "
                + "; ".join(allowed), section.line))
    missing = [h for h in ITEM_SECTIONS if h not in headings]
    if missing:
        problems.append(KnowledgeProblem(
            rel, "missing section(s): " + "; ".join(f"## {h}" for h in missing), offset + 1))
    present = [h for h in headings if h in allowed]
    if not missing and present != [h for h in allowed if h in present]:
        problems.append(KnowledgeProblem(
            rel, "sections out of order; the order is: " + "; ".join(allowed), offset + 1))


def _check_unique_ids(docs: list[Document], root: Path, problems: list[KnowledgeProblem]) -> None:
    seen: dict[str, Document] = {}
    for doc in docs:
        if doc.id in seen:
            problems.append(KnowledgeProblem(
                _rel(doc.path, root),
                f"duplicate id '{doc.id}' (also in {_rel(seen[doc.id].path, root)})", 2))
        seen[doc.id] = doc


def _compose(path: Path, root: Path, problems: list[KnowledgeProblem]) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        problems.append(KnowledgeProblem(
            _rel(path, root), f"not valid YAML ({getattr(exc, 'problem', exc)})",
            _yaml_error_line(exc)))
        return None


def _mapping(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value}


def _scalar(node: yaml.Node | None) -> Any:
    if node is None:
        return None
    return yaml.safe_load(yaml.serialize(node))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _load_trilhas(path: Path, root: Path, problems: list[KnowledgeProblem]) -> list[Trilha]:
    rel = _rel(path, root)
    if not path.exists():
        problems.append(KnowledgeProblem(rel, "trilhas file is missing"))
        return []
    node = _compose(path, root, problems)
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.append(KnowledgeProblem(rel, "must be a list of trilhas", 1))
        return []
    trilhas: list[Trilha] = []
    for entry in node.value:
        fields = _mapping(entry)
        missing = [k for k in ("id", "titulo", "conteudos") if not _scalar(fields.get(k))]
        if missing:
            problems.append(KnowledgeProblem(
                rel, f"trilha is missing {', '.join(missing)}", _line(entry)))
            continue
        conteudos = _scalar(fields["conteudos"])
        if not isinstance(conteudos, list) or not all(isinstance(c, str) for c in conteudos):
            problems.append(KnowledgeProblem(
                rel, "'conteudos' must be a list of document ids", _line(fields["conteudos"])))
            continue
        trilhas.append(Trilha(str(_scalar(fields["id"])), str(_scalar(fields["titulo"])),
                              str(_scalar(fields.get("descricao")) or ""), tuple(conteudos)))
    ids = [t.id for t in trilhas]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(KnowledgeProblem(rel, f"duplicate trilha id '{dup}'"))
    return trilhas


def _load_cards(folder: Path, root: Path, problems: list[KnowledgeProblem]) -> list[Card]:
    """The answer cards of every ``qa/<alvo>.yml`` (see :mod:`index.cards`)."""
    cards: list[Card] = []
    for path in sorted(folder.glob("*.yml")):
        rel = _rel(path, root)
        node = _compose(path, root, problems)
        if node is None:
            continue
        fields = _mapping(node)
        item, tema = _scalar(fields.get("item")), _scalar(fields.get("tema"))
        if bool(item) == bool(tema):
            problems.append(KnowledgeProblem(
                rel, "name exactly one target: 'item: \"<código>\"' or 'tema: <slug>'", 1))
            continue
        unknown = sorted(set(fields) - {"item", "tema", CARDS_KEY})
        if unknown:
            problems.append(KnowledgeProblem(
                rel, f"unknown key(s) {', '.join(unknown)}; a Q&A file has the target "
                f"('item' or 'tema') and '{CARDS_KEY}'", 1))
        if CARDS_KEY not in fields:
            problems.append(KnowledgeProblem(rel, f"no '{CARDS_KEY}': list the answer cards",
                                             1))
            continue
        cards += parse_cards(fields[CARDS_KEY], str(item or tema), path, rel, QUESTION_TYPES,
                             problems)
    return cards


def _load_dev(path: Path, root: Path, problems: list[KnowledgeProblem]) -> list[DevQuestion]:
    rel = _rel(path, root)
    if not path.exists():
        return []
    node = _compose(path, root, problems)
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.append(KnowledgeProblem(rel, "must be a list of {q, item, topic, must_mention}"))
        return []
    dev: list[DevQuestion] = []
    for entry in node.value:
        fields = _mapping(entry)
        q, topic = _scalar(fields.get("q")), _scalar(fields.get("topic"))
        item = _scalar(fields.get("item"))
        must = _scalar(fields.get("must_mention")) or []
        style = _scalar(fields.get("style"))
        if not q or not topic or not isinstance(must, list):
            problems.append(KnowledgeProblem(
                rel, "each entry needs 'q', 'topic' and a 'must_mention' list", _line(entry)))
            continue
        dev.append(DevQuestion(str(q), str(item) if item is not None else None, str(topic),
                               tuple(str(m) for m in must), str(style) if style else None))
    return dev


def _load_systems(path: Path, root: Path, problems: list[KnowledgeProblem]) -> list[SourceSystem]:
    """The source systems file (optional: a tree without it has no systems)."""
    rel = _rel(path, root)
    if not path.exists():
        return []
    node = _compose(path, root, problems)
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.append(KnowledgeProblem(rel, "must be a list of {nome, sinonimos, itens}", 1))
        return []
    loaded: list[SourceSystem] = []
    for entry in node.value:
        line = _line(entry)
        fields = _mapping(entry)
        nome, orgao = _scalar(fields.get("nome")), _scalar(fields.get("orgao"))
        itens, sinonimos = _scalar(fields.get("itens")), _scalar(fields.get("sinonimos")) or []
        start = len(problems)
        if not isinstance(nome, str) or not nome.strip():
            problems.append(KnowledgeProblem(rel, "each system needs a 'nome'", line))
            continue
        if not isinstance(itens, list) or not itens:
            problems.append(KnowledgeProblem(
                rel, f"system '{nome}' needs 'itens': the item codes it feeds", line))
        else:
            itens = [str(code) for code in itens]
            for code in itens:
                if code not in BY_CODE:
                    problems.append(KnowledgeProblem(
                        rel, f"system '{nome}' names unknown item code {code!r}",
                        _line(fields["itens"])))
        if not isinstance(sinonimos, list) or not all(isinstance(s, str) for s in sinonimos):
            problems.append(KnowledgeProblem(
                rel, f"'sinonimos' of system '{nome}' must be a list of texts", line))
            sinonimos = []
        for name in sinonimos:
            problem = _synonym_problem(name, item=False)
            if problem:
                problems.append(KnowledgeProblem(rel, f"system '{nome}': {problem}",
                                                 _line(fields["sinonimos"])))
        if len(problems) == start:
            loaded.append(SourceSystem(nome.strip(), tuple(itens), tuple(sinonimos),
                                       str(orgao) if orgao else None, line))
    return loaded


def _load_aspects(path: Path, root: Path,
                  problems: list[KnowledgeProblem]) -> dict[str, tuple[str, ...]]:
    """The aspects file (optional): question type -> the expressions that ask it; an
    expression belongs to one type."""
    rel = _rel(path, root)
    if not path.exists():
        return {}
    node = _compose(path, root, problems)
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        problems.append(KnowledgeProblem(
            rel, "must map question types (" + ", ".join(ASPECT_TYPES)
            + ") to lists of expressions", 1))
        return {}
    aspects: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for key, value in node.value:
        tipo, expressions = str(key.value), _scalar(value)
        if tipo not in ASPECT_TYPES:
            problems.append(KnowledgeProblem(
                rel, f"unknown question type {tipo!r}; the types are "
                + ", ".join(ASPECT_TYPES), _line(key)))
            continue
        if not isinstance(expressions, list) or not all(
                isinstance(e, str) and e.strip() for e in expressions):
            problems.append(KnowledgeProblem(
                rel, f"'{tipo}' must be a list of non-empty texts", _line(value)))
            continue
        for expression in expressions:
            folded = fold(expression)
            first = owner.setdefault(folded, tipo)
            if first != tipo or folded in aspects.get(tipo, ()):
                where = "twice" if first == tipo else f"in both '{first}' and '{tipo}'"
                problems.append(KnowledgeProblem(
                    rel, f"expression {expression!r} appears {where}", _line(value)))
        aspects[tipo] = tuple(dict.fromkeys(fold(e) for e in expressions))
    return aspects


def _check_synonyms(knowledge: Knowledge, problems: list[KnowledgeProblem]) -> None:
    """Each item synonym names one item and each system name one system; a system name is
    an item synonym only when that system feeds that one item alone ('cadprev' -> 4.2)."""
    root = knowledge.root
    owner: dict[str, Document] = {}
    for doc in knowledge.documents:
        for name in doc.sinonimos:
            key = question_key(name)
            other = owner.setdefault(key, doc)
            if other is not doc:
                problems.append(KnowledgeProblem(
                    _rel(doc.path, root), f"synonym {name!r} is also a synonym of item "
                    f"{other.item} ({_rel(other.path, root)}); a synonym names one item",
                    doc.field_lines.get("sinonimos")))
    rel = _rel(root / SYSTEMS_FILE, root)
    names: dict[str, SourceSystem] = {}
    for system in knowledge.systems:
        for code in system.itens:
            if code in BY_CODE and knowledge.by_topic(code) is None:
                problems.append(KnowledgeProblem(
                    rel, f"system '{system.nome}' feeds item {code}, which has no document",
                    system.line))
        for name in system.names:
            key = question_key(name)
            first = names.setdefault(key, system)
            if first is not system:
                problems.append(KnowledgeProblem(
                    rel, f"'{name}' names both '{first.nome}' and '{system.nome}'", system.line))
            item_doc = owner.get(key)
            if item_doc is not None and system.itens != (item_doc.item,):
                problems.append(KnowledgeProblem(
                    rel, f"'{name}' names system '{system.nome}', which feeds "
                    f"{', '.join(system.itens)}, so it cannot be a synonym of item "
                    f"{item_doc.item} alone ({_rel(item_doc.path, root)})", system.line))


def _check_references(knowledge: Knowledge, problems: list[KnowledgeProblem]) -> None:
    root = knowledge.root
    doc_ids = {d.id for d in knowledge.documents}
    for trilha in knowledge.trilhas:
        for doc_id in trilha.conteudos:
            if doc_id not in doc_ids:
                problems.append(KnowledgeProblem(
                    _rel(root / "trilhas.yml", root),
                    f"trilha '{trilha.id}' lists '{doc_id}', which is no document id"))
    if knowledge.trilhas:
        for doc in knowledge.documents:
            if not knowledge.trilhas_of(doc.id):
                problems.append(KnowledgeProblem(
                    _rel(doc.path, root),
                    f"document '{doc.id}' is in no trilha: add it to a trilha's conteudos", 2))

    reported: set[Path] = set()
    seen: dict[str, Question] = {}
    for question in knowledge.questions:
        where = _rel(question.path, root)
        if knowledge.by_topic(question.topic) is None and question.path not in reported:
            reported.add(question.path)
            problems.append(KnowledgeProblem(
                where, f"target '{question.topic}' has no document "
                "(itens/<código>.md or temas/<slug>.md)", 1))
        key = question_key(question.text)
        if key in seen:
            other = seen[key]
            problems.append(KnowledgeProblem(
                where, f"duplicate question {question.text!r} (also in "
                f"{_rel(other.path, root)}:{other.line}); keep it in one file", question.line))
        else:
            seen[key] = question

    topics = {d.topic for d in knowledge.documents} | {OUT_OF_SCOPE}
    for name, entries in zip(EVAL_FILES, (knowledge.dev, knowledge.blind), strict=True):
        rel = _rel(root / name, root)
        for number, entry in enumerate(entries, start=1):
            # The blind set's questions are never printed (see EVAL_FILES).
            label = f"question {entry.q!r}" if name == "dev.yml" else f"entry #{number}"
            if entry.topic not in topics:
                problems.append(KnowledgeProblem(rel, f"{label} has unknown topic "
                                                 f"'{entry.topic}'"))
            if entry.item is not None and entry.item not in BY_CODE:
                problems.append(KnowledgeProblem(rel, f"{label} has unknown item "
                                                 f"'{entry.item}'"))
            leaked = seen.get(question_key(entry.q))
            if leaked is not None:
                # Located at the card, without the evaluation question's text: the blind
                # set is read only as totals.
                problems.append(KnowledgeProblem(
                    _rel(leaked.path, root), f"a card question is also in {name}, which "
                    "must stay held out: rephrase it or remove it", leaked.line))


# What every item needs a card for: each kind of question gestores ask about an item.
CARD_COVERAGE_TYPES = ("o_que_e", "por_que_pendente", "como_regularizar", "prazo", "base_legal",
                       "sistema_responsavel")


def _check_cards(knowledge: Knowledge, problems: list[KnowledgeProblem]) -> None:
    """Each card summarises an existing section of its target's document and cites sources
    of fontes.yml; every item has a card for each kind of question; every topic has one."""
    root = knowledge.root
    for card in knowledge.cards:
        rel = _rel(card.path, root)
        doc = knowledge.by_topic(card.topic)
        if doc is None:
            continue  # reported once per file by _check_references
        headings = [s.heading for s in doc.sections]
        if card.secao not in headings:
            problems.append(KnowledgeProblem(
                rel, f"card '{card.id}': 'secao' {card.secao!r} is no section of "
                f"{_rel(doc.path, root)}; its sections are: " + "; ".join(headings), card.line))
        for url in card.fontes:
            if url not in knowledge.sources:
                problems.append(KnowledgeProblem(
                    rel, f"card '{card.id}': source {url} is not in knowledge/{SOURCES_FILE} "
                    "(the reference's list); cite one of those URLs", card.line))
    for doc in knowledge.documents:
        if doc.tipo not in ("item", "tema"):
            continue
        tipos = {card.tipo for card in knowledge.cards_of(doc.topic)}
        where = _rel(root / "qa" / f"{doc.topic}.yml", root)
        if doc.tipo == "tema" and not tipos:
            problems.append(KnowledgeProblem(
                where, f"{doc.display_title} has no answer card: every topic needs one"))
        missing = [t for t in CARD_COVERAGE_TYPES if t not in tipos]
        if doc.tipo == "item" and missing:
            problems.append(KnowledgeProblem(
                where, f"{doc.display_title} has no answer card of type {', '.join(missing)}: "
                f"every item needs one card per kind of question "
                f"({', '.join(CARD_COVERAGE_TYPES)})"))
