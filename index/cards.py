"""Answer cards: the unit of an answer (``knowledge/qa/<alvo>.yml``).

A card is a question gestores ask, its paraphrases, a direct answer of at most
:data:`MAX_ANSWER_WORDS` words, optional short steps, the section of the item or topic
document it summarises (the full explanation, one tap away) and its sources, which must
be in ``knowledge/fontes.yml`` (the reference's list). The format is documented in
``knowledge/README.md``; this module parses and checks it. Problems are reported like the
rest of the knowledge (:class:`index.errors.KnowledgeProblem`, file and line).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from index.errors import KnowledgeProblem
from index.text import fold

MAX_ANSWER_WORDS = 60
MAX_STEPS = 5
MAX_STEP_WORDS = 20
MAX_SOURCES = 4
MAX_QUESTION_CHARS = 300
SOURCES_FILE = "fontes.yml"
CARDS_KEY = "cartoes"
CARD_FIELDS = ("id", "tipo", "pergunta", "resposta", "passos", "secao", "fontes", "perguntas")
REQUIRED_CARD_FIELDS = ("id", "tipo", "pergunta", "resposta", "secao", "fontes")
_CARD_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A question with none of these words asks yes or no ("pendência no CAUC bloqueia o FPM?").
_OPEN_QUESTION = re.compile(
    r"\b(?:o que|que|qual|quais|quanto|quantos|quanta|quantas|quando|como|onde|aonde|quem|"
    r"por que|porque|pq|pra que|para que|cade|qto|qdo|qnd)\b")
YES_NO_OPENINGS = ("sim", "nao", "depende")


@dataclass(frozen=True)
class CitedSource:
    """A source Iara may cite (knowledge/fontes.yml)."""

    url: str
    titulo: str
    oficial: bool = False


@dataclass(frozen=True)
class Card:
    id: str
    topic: str  # item code or tema slug (the file's target)
    tipo: str  # a question type (index.knowledge.QUESTION_TYPES)
    pergunta: str
    resposta: str
    secao: str
    fontes: tuple[str, ...]  # URLs of fontes.yml
    perguntas: tuple[str, ...] = ()  # paraphrases (what analysts add)
    passos: tuple[str, ...] = ()
    path: Path = Path()
    line: int = 0
    question_lines: tuple[int, ...] = ()  # line of the pergunta, then of each paraphrase

    @property
    def key(self) -> str:
        """Unique across the knowledge: ``<topic>/<id>`` ("3.1.2/prazo-envio")."""
        return f"{self.topic}/{self.id}"

    @property
    def questions(self) -> tuple[str, ...]:
        """The card's own question first, then its paraphrases."""
        return (self.pergunta, *self.perguntas)

    @property
    def answer_words(self) -> int:
        return len(self.resposta.split())


def words(text: str) -> int:
    return len(text.split())


def is_yes_no(question: str) -> bool:
    """Whether a question asks yes or no: it has no open question word."""
    return _OPEN_QUESTION.search(fold(question)) is None


def opens_with_yes_or_no(answer: str) -> bool:
    first = re.split(r"[\s,.;:!]+", fold(answer).strip(), maxsplit=1)[0]
    return first in YES_NO_OPENINGS


def load_sources(path: Path, rel: str, problems: list[KnowledgeProblem]) -> dict[str, CitedSource]:
    """fontes.yml: URL -> source. Missing file: no card can cite anything."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problems.append(KnowledgeProblem(rel, f"not valid YAML ({getattr(exc, 'problem', exc)})"))
        return {}
    if not isinstance(data, list):
        problems.append(KnowledgeProblem(rel, "must be a list of {url, titulo, oficial}", 1))
        return {}
    sources: dict[str, CitedSource] = {}
    for i, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not entry.get("url") or not entry.get("titulo"):
            problems.append(KnowledgeProblem(rel, f"source #{i} needs 'url' and 'titulo'"))
            continue
        url = str(entry["url"])
        if not re.match(r"^https?://\S+$", url):
            problems.append(KnowledgeProblem(rel, f"source #{i} has an invalid url {url!r}"))
            continue
        if url in sources:
            problems.append(KnowledgeProblem(rel, f"source {url} is listed twice"))
        sources[url] = CitedSource(url, str(entry["titulo"]), bool(entry.get("oficial")))
    return sources


def parse_cards(node: yaml.Node, topic: str, path: Path, rel: str,
                question_types: tuple[str, ...],
                problems: list[KnowledgeProblem]) -> list[Card]:
    """The cards of one Q&A file (``node`` is the value of its ``cartoes`` key)."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        problems.append(KnowledgeProblem(
            rel, f"'{CARDS_KEY}' must be a non-empty list of cards", _line(node)))
        return []
    cards: list[Card] = []
    seen: set[str] = set()
    for entry in node.value:
        card = _parse_card(entry, topic, path, rel, question_types, problems)
        if card is None:
            continue
        if card.id in seen:
            problems.append(KnowledgeProblem(rel, f"card id '{card.id}' appears twice",
                                             card.line))
            continue
        seen.add(card.id)
        cards.append(card)
    return cards


def _parse_card(entry: yaml.Node, topic: str, path: Path, rel: str,
                question_types: tuple[str, ...],
                problems: list[KnowledgeProblem]) -> Card | None:
    line = _line(entry)
    if not isinstance(entry, yaml.MappingNode):
        problems.append(KnowledgeProblem(rel, "each card must be a mapping of "
                                         + ", ".join(CARD_FIELDS), line))
        return None
    nodes = {str(k.value): v for k, v in entry.value}
    start = len(problems)

    def fail(message: str, key: str | None = None) -> None:
        problems.append(KnowledgeProblem(rel, message,
                                         _line(nodes[key]) if key in nodes else line))

    for key in nodes:
        if key not in CARD_FIELDS:
            fail(f"unknown card field '{key}'; the fields are: {', '.join(CARD_FIELDS)}", key)
    values = {key: _scalar(value) for key, value in nodes.items()}
    for key in REQUIRED_CARD_FIELDS:
        if values.get(key) in (None, "", []):
            fail(f"card needs '{key}'")
    if len(problems) > start:
        return None
    card_id, tipo = str(values["id"]), str(values["tipo"])
    label = f"card '{card_id}'"
    if not _CARD_ID.match(card_id):
        fail(f"{label}: the id must be lower-case words joined by '-' (e.g. prazo-envio)", "id")
    if tipo not in question_types:
        fail(f"{label}: unknown tipo '{tipo}'; the types are: {', '.join(question_types)}",
             "tipo")
    pergunta = " ".join(str(values["pergunta"]).split())
    resposta = " ".join(str(values["resposta"]).split())
    if len(pergunta) > MAX_QUESTION_CHARS:
        fail(f"{label}: the question passes {MAX_QUESTION_CHARS} characters", "pergunta")
    if words(resposta) > MAX_ANSWER_WORDS:
        fail(f"{label}: the answer has {words(resposta)} words; a direct answer has at most "
             f"{MAX_ANSWER_WORDS} (move detail to 'passos' or to the document's section)",
             "resposta")
    if resposta.lstrip().startswith(("#", "-", "*", "|")):
        fail(f"{label}: the answer is plain sentences, not a heading, list or table", "resposta")
    if is_yes_no(pergunta) and not opens_with_yes_or_no(resposta):
        fail(f"{label}: the question asks yes or no, so the answer starts with "
             "'Sim', 'Não' or 'Depende'", "resposta")
    passos = _texts(values.get("passos"), f"{label}: 'passos'", fail, "passos")
    if len(passos) > MAX_STEPS:
        fail(f"{label}: {len(passos)} steps; at most {MAX_STEPS}", "passos")
    for step in passos:
        if words(step) > MAX_STEP_WORDS:
            fail(f"{label}: a step has {words(step)} words (at most {MAX_STEP_WORDS}): "
                 f"{step[:40]!r}…", "passos")
    fontes = _texts(values.get("fontes"), f"{label}: 'fontes'", fail, "fontes")
    if len(fontes) > MAX_SOURCES:
        fail(f"{label}: {len(fontes)} sources; cite at most {MAX_SOURCES}", "fontes")
    perguntas = _texts(values.get("perguntas"), f"{label}: 'perguntas'", fail, "perguntas")
    for question in perguntas:
        if len(question) > MAX_QUESTION_CHARS:
            fail(f"{label}: a paraphrase passes {MAX_QUESTION_CHARS} characters", "perguntas")
    if len(problems) > start:
        return None
    paraphrase_lines: tuple[int, ...] = ()
    if isinstance(nodes.get("perguntas"), yaml.SequenceNode):
        paraphrase_lines = tuple(_line(n) for n in nodes["perguntas"].value)
    return Card(
        id=card_id, topic=topic, tipo=tipo, pergunta=pergunta, resposta=resposta,
        secao=str(values["secao"]).strip(), fontes=tuple(fontes),
        perguntas=tuple(" ".join(q.split()) for q in perguntas),
        passos=tuple(" ".join(s.split()) for s in passos), path=path, line=line,
        question_lines=(_line(nodes["pergunta"]), *paraphrase_lines))


def _texts(value: Any, label: str, fail: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(v, (str, int, float)) and str(v).strip() for v in value):
        fail(f"{label} must be a list of non-empty texts", key)
        return []
    return [str(v).strip() for v in value]


def _scalar(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _line(node: yaml.Node | None) -> int:
    return int(node.start_mark.line) + 1 if node is not None else 1


def render_cards(topic: str, cards: list[dict[str, Any]], *, is_item: bool) -> str:
    """A Q&A file in its canonical layout (what analysts' edits write and the committed
    files follow): the target, then each card's fields in :data:`CARD_FIELDS` order, every
    text double-quoted (JSON escapes are valid YAML), ``id`` and ``tipo`` bare."""
    head = f'item: "{topic}"' if is_item else f"tema: {topic}"
    lines = [head, f"{CARDS_KEY}:"]
    for card in cards:
        first = True
        for key in CARD_FIELDS:
            value = card.get(key)
            if value in (None, "", [], ()):
                continue
            prefix = "  - " if first else "    "
            first = False
            if isinstance(value, (list, tuple)):
                lines.append(f"{prefix}{key}:")
                lines += [f"      - {_quoted(str(v))}" for v in value]
            elif key in ("id", "tipo"):
                lines.append(f"{prefix}{key}: {value}")
            else:
                lines.append(f"{prefix}{key}: {_quoted(str(value))}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def card_to_fields(card: Card) -> dict[str, Any]:
    return {"id": card.id, "tipo": card.tipo, "pergunta": card.pergunta,
            "resposta": card.resposta, "passos": list(card.passos), "secao": card.secao,
            "fontes": list(card.fontes), "perguntas": list(card.perguntas)}
