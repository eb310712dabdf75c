"""Q&A pairs: the questions of the answer cards of ``knowledge/qa/<item-or-tema>.yml``
(a card's own question and its paraphrases): list, search, add, edit, delete and batch
import, each a validated, audited change (see :mod:`iara.admin.knowledge_store`).

A new question goes to a card: the one named, else the first card of its topic and type.
The files are rewritten in their canonical layout (:func:`index.cards.render_cards`),
which is exactly the layout of the committed files, so an edit changes only the lines it
means to.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from iara.admin import knowledge_store
from iara.admin.errors import InvalidChangeError, NotFoundError
from iara.db import Database
from index.cards import CARDS_KEY, render_cards
from index.cauc import BY_CODE
from index.knowledge import QUESTION_TYPES, Knowledge, load_knowledge
from index.text import fold, question_key, sha256


@dataclass(frozen=True)
class Pair:
    id: str
    text: str
    topic: str
    tipo: str
    card: str  # the card's key ("3.1.2/prazo")
    main: bool  # the card's own question (edited, never deleted, here)
    file: str
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "pergunta": self.text, "topico": self.topic,
                "tipo": self.tipo, "cartao": self.card, "principal": self.main,
                "arquivo": self.file, "linha": self.line}


def pair_id(text: str) -> str:
    """Stable id of a question (questions are unique by their key across the tree)."""
    return sha256(question_key(text))[:12]


def qa_file(topic: str) -> str:
    return f"qa/{topic}.yml"


def pairs(knowledge: Knowledge) -> list[Pair]:
    root = knowledge.root
    return [Pair(pair_id(q.text), q.text, q.topic, q.tipo, q.card or "",
                 q.card is not None and q.text == knowledge.card(q.card).pergunta,
                 str(q.path.relative_to(root)), q.line) for q in knowledge.questions]


def search(knowledge: Knowledge, query: str = "", topic: str | None = None) -> list[Pair]:
    words = fold(query).split()
    return [p for p in pairs(knowledge)
            if (topic is None or p.topic == topic)
            and all(w in fold(p.text) for w in words)]


def topics(knowledge: Knowledge) -> list[dict[str, str]]:
    """Targets a Q&A pair may name: every item and tema (code/slug and title)."""
    return [{"topico": d.topic, "titulo": d.display_title, "tipo": d.tipo}
            for d in knowledge.documents if d.tipo in ("item", "tema")]


def cards(knowledge: Knowledge) -> list[dict[str, str]]:
    """The cards a question may join: key, topic, type and the card's own question."""
    return [{"cartao": c.key, "topico": c.topic, "tipo": c.tipo, "pergunta": c.pergunta}
            for c in knowledge.cards]


def parse(content: str | None) -> list[dict[str, Any]]:
    """The cards of a Q&A file as plain mappings (none for a missing file)."""
    if content is None:
        return []
    data = yaml.safe_load(content) or {}
    return [dict(card) for card in data.get(CARDS_KEY) or []]


class Files:
    """Pending contents of Q&A files during one change (read once, edited in memory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cards: dict[str, list[dict[str, Any]]] = {}

    def of(self, topic: str) -> list[dict[str, Any]]:
        if topic not in self.cards:
            self.cards[topic] = parse(knowledge_store.read(self.root, qa_file(topic)))
        return self.cards[topic]

    def _card(self, key: str) -> dict[str, Any]:
        topic, _, card_id = key.rpartition("/")
        for card in self.of(topic):
            if str(card.get("id")) == card_id:
                return card
        raise NotFoundError(f"Cartão {key!r} não encontrado em {qa_file(topic)}.")

    def add(self, card_key: str, text: str) -> None:
        card = self._card(card_key)
        card["perguntas"] = [*(card.get("perguntas") or []), text]

    def remove(self, pair: Pair) -> None:
        card = self._card(pair.card)
        questions = [str(q) for q in card.get("perguntas") or []]
        for i, text in enumerate(questions):
            if question_key(text) == question_key(pair.text):
                del questions[i]
                card["perguntas"] = questions
                return
        raise NotFoundError(f"Pergunta {pair.text!r} não encontrada em {pair.file}.")

    def rename_main(self, pair: Pair, text: str) -> None:
        self._card(pair.card)["pergunta"] = text

    def contents(self) -> dict[str, str | None]:
        return {qa_file(topic): render_cards(topic, cards, is_item=topic in BY_CODE)
                if cards else None for topic, cards in self.cards.items()}


def resolve_card(knowledge: Knowledge, topic: str, tipo: str, card: str | None) -> str:
    """The key of the card a question joins: ``card`` (its key, or its id within
    ``topic``), else the first card of ``topic`` with type ``tipo``."""
    if card:
        key = card if "/" in card else f"{topic}/{card}"
        if key not in {c.key for c in knowledge.cards}:
            raise InvalidChangeError(f"Cartão desconhecido {card!r}.", [
                f"Cartão desconhecido {card!r}: veja os cartões em GET /api/admin/qa/topics."])
        return key
    for candidate in knowledge.cards_of(topic):
        if candidate.tipo == tipo:
            return candidate.key
    message = (f"O tópico {topic!r} não tem cartão do tipo {tipo!r}; escolha um dos seus "
               "cartões (campo 'cartao').")
    raise InvalidChangeError(message, [message])


def _check(knowledge: Knowledge, topic: str, tipo: str, text: str) -> list[str]:
    problems = []
    if not text.strip():
        problems.append("A pergunta está vazia.")
    if len(text) > 500:
        problems.append("A pergunta passa de 500 caracteres.")
    if knowledge.by_topic(topic) is None:
        problems.append(f"Tópico desconhecido {topic!r}: use o código de um item (ex.: "
                        "3.2.2) ou o identificador de um tema.")
    if tipo not in QUESTION_TYPES:
        problems.append(f"Tipo de pergunta desconhecido {tipo!r}; os tipos são: "
                        + ", ".join(QUESTION_TYPES) + ".")
    return problems


def _find(knowledge: Knowledge, pid: str) -> Pair:
    for pair in pairs(knowledge):
        if pair.id == pid:
            return pair
    raise NotFoundError(f"Par de pergunta {pid} não encontrado.")


def _target(knowledge: Knowledge, topic: str | None, tipo: str | None,
            card: str | None) -> tuple[str, str, str]:
    """(topic, type, card key) a question goes to; a named card decides the other two."""
    if card and "/" in card and card in {c.key for c in knowledge.cards}:
        chosen = knowledge.card(card)
        return chosen.topic, chosen.tipo, chosen.key
    topic, tipo = topic or "", tipo or "geral"
    problems = _check(knowledge, topic, tipo, "-")
    if problems:
        raise InvalidChangeError(" ".join(problems), problems)
    key = resolve_card(knowledge, topic, tipo, card)
    return topic, knowledge.card(key).tipo, key


def add(db: Database, root: Path, actor: str, topic: str, tipo: str, text: str,
        details: dict[str, Any] | None = None, *, card: str | None = None
        ) -> tuple[Pair, int]:
    knowledge = load_knowledge(root)
    text = " ".join(text.split())
    problems = _check(knowledge, topic if not (card and "/" in card) else
                      card.rpartition("/")[0], tipo, text)
    if problems:
        raise InvalidChangeError(" ".join(problems), problems)
    topic, tipo, key = _target(knowledge, topic, tipo, card)
    files = Files(root)
    files.add(key, text)
    saved = knowledge_store.save(db, root, actor, "qa.add",
                                 f"Nova pergunta no cartão {key} ({tipo}): {text}",
                                 files.contents(), details)
    return _find(saved.knowledge, pair_id(text)), saved.audit_id


def edit(db: Database, root: Path, actor: str, pid: str, *, text: str | None = None,
         topic: str | None = None, tipo: str | None = None,
         card: str | None = None) -> tuple[Pair, int]:
    knowledge = load_knowledge(root)
    old = _find(knowledge, pid)
    new_text = " ".join((text if text is not None else old.text).split())
    problems = _check(knowledge, topic or old.topic, tipo or old.tipo, new_text)
    if problems:
        raise InvalidChangeError(" ".join(problems), problems)
    moved = card is not None or (topic or old.topic, tipo or old.tipo) != (old.topic, old.tipo)
    _, new_tipo, key = _target(knowledge, topic or old.topic, tipo or old.tipo,
                                       card) if moved else (old.topic, old.tipo, old.card)
    files = Files(root)
    if old.main:
        if key != old.card:
            message = ("Esta é a pergunta principal do cartão: edite o texto, mas não a mova "
                       "para outro cartão.")
            raise InvalidChangeError(message, [message])
        files.rename_main(old, new_text)
    else:
        files.remove(old)
        files.add(key, new_text)
    saved = knowledge_store.save(db, root, actor, "qa.edit",
                                 f"Edita pergunta: {old.text} → {new_text} ({key}, "
                                 f"{new_tipo})", files.contents())
    return _find(saved.knowledge, pair_id(new_text)), saved.audit_id


def delete(db: Database, root: Path, actor: str, pid: str) -> int:
    old = _find(load_knowledge(root), pid)
    if old.main:
        message = ("Esta é a pergunta principal do cartão e não pode ser removida; edite-a "
                   "ou remova as outras formas da pergunta.")
        raise InvalidChangeError(message, [message])
    files = Files(root)
    files.remove(old)
    return knowledge_store.save(db, root, actor, "qa.delete",
                                f"Remove pergunta do cartão {old.card}: {old.text}",
                                files.contents()).audit_id


# --- Batch import --------------------------------------------------------------------
COLUMNS = ("pergunta", "topico", "tipo")
OPTIONAL_COLUMNS = ("cartao",)


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """Rows {pergunta, topico, tipo[, cartao]} of a CSV (comma or semicolon, UTF-8), an XLSX (first
    sheet, header in the first row) or a YAML list."""
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidChangeError("O arquivo não está em UTF-8.") from None
    if filename.lower().endswith((".yml", ".yaml")):
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidChangeError(f"O YAML não pôde ser lido: {exc}") from None
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise InvalidChangeError("O YAML deve ser uma lista de {pergunta, topico, tipo}.")
        return [{k: str(r.get(k) or "").strip() for k in COLUMNS + OPTIONAL_COLUMNS}
                for r in loaded]
    if filename.lower().endswith(".csv"):
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", ",;")
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        header = [fold(h or "") for h in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InvalidChangeError("Colunas ausentes no CSV: " + ", ".join(missing) + ".")
        return [{fold(k or ""): (v or "").strip() for k, v in row.items()} for row in reader]
    raise InvalidChangeError("Envie um arquivo .csv, .xlsx, .yml ou .yaml.")


def _xlsx_rows(data: bytes) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a file that is no workbook
        raise InvalidChangeError("A planilha XLSX não pôde ser lida.") from None
    try:
        sheet = workbook.worksheets[0]
        values = [["" if v is None else str(v).strip() for v in row]
                  for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not values:
        raise InvalidChangeError("A planilha está vazia.")
    header = [fold(h) for h in values[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidChangeError("Colunas ausentes na planilha: " + ", ".join(missing) + ".")
    return [{h: row[i] if i < len(row) else "" for i, h in enumerate(header) if h}
            for row in values[1:] if any(row)]


def import_rows(db: Database, root: Path, actor: str, rows: list[dict[str, str]],
                *, dry_run: bool = False) -> dict[str, Any]:
    """Add every valid row in one validated change; report the others by row number
    (the header is row 1 in a CSV; YAML rows count from 1)."""
    knowledge = load_knowledge(root)
    seen = {question_key(q.text) for q in knowledge.questions}
    seen |= {question_key(d.q) for d in knowledge.dev + knowledge.blind}
    errors: list[dict[str, Any]] = []
    files = Files(root)
    accepted = 0
    for number, row in enumerate(rows, start=1):
        text = " ".join(row.get("pergunta", "").split())
        topic, tipo = row.get("topico", "").strip(), (row.get("tipo") or "geral").strip()
        problems = _check(knowledge, topic, tipo, text)
        key = question_key(text)
        if text and key in seen:
            problems.append("Pergunta repetida (já existe no conhecimento, no conjunto de "
                            "avaliação ou em outra linha).")
        card_key = None
        if not problems:
            try:
                card_key = resolve_card(knowledge, topic, tipo, row.get("cartao") or None)
            except InvalidChangeError as exc:
                problems += exc.details
        if problems or card_key is None:
            errors.append({"linha": number, "pergunta": text, "erros": problems})
            continue
        seen.add(key)
        files.add(card_key, text)
        accepted += 1
    report: dict[str, Any] = {"linhas": len(rows), "aceitas": accepted, "erros": errors,
                              "auditoria": None}
    if accepted and not dry_run:
        saved = knowledge_store.save(db, root, actor, "qa.import",
                                     f"Importa {accepted} pergunta(s)", files.contents(),
                                     {"linhas": len(rows), "erros": len(errors)})
        report["auditoria"] = saved.audit_id
    return report
