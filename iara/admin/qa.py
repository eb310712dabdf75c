"""Q&A pairs of ``knowledge/qa/<item-or-tema>.yml``: list, search, add, edit, delete and
batch import, each a validated, audited change (see :mod:`iara.admin.knowledge_store`).

The files are rewritten in their canonical layout (target line, ``perguntas:`` mapping
question types, in the order of :data:`QUESTION_TYPES`, to lists), which is exactly the
layout of the committed files, so an edit changes only the lines it means to.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from iara.admin import knowledge_store
from iara.admin.errors import InvalidChangeError, NotFoundError
from iara.db import Database
from index.cauc import BY_CODE
from index.knowledge import QUESTION_TYPES, Knowledge, load_knowledge
from index.text import fold, question_key, sha256

_NUMERIC = re.compile(r"[0-9.]+")


@dataclass(frozen=True)
class Pair:
    id: str
    text: str
    topic: str
    tipo: str
    file: str
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "pergunta": self.text, "topico": self.topic,
                "tipo": self.tipo, "arquivo": self.file, "linha": self.line}


def pair_id(text: str) -> str:
    """Stable id of a question (questions are unique by their key across the tree)."""
    return sha256(question_key(text))[:12]


def qa_file(topic: str) -> str:
    return f"qa/{topic}.yml"


def pairs(knowledge: Knowledge) -> list[Pair]:
    root = knowledge.root
    return [Pair(pair_id(q.text), q.text, q.topic, q.tipo,
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


def render(topic: str, perguntas: dict[str, list[str]]) -> str:
    head = f'item: "{topic}"' if topic in BY_CODE else f"tema: {topic}"
    lines = [head, "perguntas:"]
    for tipo in sorted(perguntas, key=lambda t: QUESTION_TYPES.index(t)
                       if t in QUESTION_TYPES else len(QUESTION_TYPES)):
        if not perguntas[tipo]:
            continue
        lines.append(f"  {tipo}:")
        for text in perguntas[tipo]:
            if _NUMERIC.fullmatch(text):
                lines.append(f'    - "{text}"')
            else:
                dumped = yaml.safe_dump([text], allow_unicode=True, width=10**6)
                lines.append("    " + dumped.rstrip("\n"))
    return "\n".join(lines) + "\n"


def parse(content: str | None) -> dict[str, list[str]]:
    if content is None:
        return {}
    data = yaml.safe_load(content) or {}
    perguntas = data.get("perguntas") or {}
    if isinstance(perguntas, list):
        return {"geral": [str(q) for q in perguntas]}
    return {str(k): [str(q) for q in v or []] for k, v in perguntas.items()}


class Files:
    """Pending contents of Q&A files during one change (read once, edited in memory)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.perguntas: dict[str, dict[str, list[str]]] = {}

    def of(self, topic: str) -> dict[str, list[str]]:
        if topic not in self.perguntas:
            self.perguntas[topic] = parse(knowledge_store.read(self.root, qa_file(topic)))
        return self.perguntas[topic]

    def add(self, topic: str, tipo: str, text: str) -> None:
        self.of(topic).setdefault(tipo, []).append(text)

    def remove(self, pair: Pair) -> None:
        questions = self.of(pair.topic).get(pair.tipo, [])
        for i, text in enumerate(questions):
            if question_key(text) == question_key(pair.text):
                del questions[i]
                return
        raise NotFoundError(f"Pergunta {pair.text!r} não encontrada em {pair.file}.")

    def contents(self) -> dict[str, str | None]:
        return {qa_file(topic): render(topic, p) if any(p.values()) else None
                for topic, p in self.perguntas.items()}


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


def add(db: Database, root: Path, actor: str, topic: str, tipo: str, text: str,
        details: dict[str, Any] | None = None) -> tuple[Pair, int]:
    knowledge = load_knowledge(root)
    text = " ".join(text.split())
    problems = _check(knowledge, topic, tipo, text)
    if problems:
        raise InvalidChangeError(" ".join(problems), problems)
    files = Files(root)
    files.add(topic, tipo, text)
    saved = knowledge_store.save(db, root, actor, "qa.add",
                                 f"Nova pergunta em {topic} ({tipo}): {text}", files.contents(),
                                 details)
    return _find(saved.knowledge, pair_id(text)), saved.audit_id


def edit(db: Database, root: Path, actor: str, pid: str, *, text: str | None = None,
         topic: str | None = None, tipo: str | None = None) -> tuple[Pair, int]:
    knowledge = load_knowledge(root)
    old = _find(knowledge, pid)
    new_text = " ".join((text if text is not None else old.text).split())
    new_topic, new_tipo = topic or old.topic, tipo or old.tipo
    problems = _check(knowledge, new_topic, new_tipo, new_text)
    if problems:
        raise InvalidChangeError(" ".join(problems), problems)
    files = Files(root)
    files.remove(old)
    files.add(new_topic, new_tipo, new_text)
    saved = knowledge_store.save(db, root, actor, "qa.edit",
                                 f"Edita pergunta: {old.text} → {new_text} ({new_topic}, "
                                 f"{new_tipo})", files.contents())
    return _find(saved.knowledge, pair_id(new_text)), saved.audit_id


def delete(db: Database, root: Path, actor: str, pid: str) -> int:
    old = _find(load_knowledge(root), pid)
    files = Files(root)
    files.remove(old)
    return knowledge_store.save(db, root, actor, "qa.delete",
                                f"Remove pergunta de {old.topic}: {old.text}",
                                files.contents()).audit_id


# --- Batch import --------------------------------------------------------------------
COLUMNS = ("pergunta", "topico", "tipo")


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """Rows {pergunta, topico, tipo} of a CSV (comma or semicolon, UTF-8), an XLSX (first
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
        return [{k: str(r.get(k) or "").strip() for k in COLUMNS} for r in loaded]
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
    seen |= {question_key(d.q) for d in knowledge.dev}
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
        if problems:
            errors.append({"linha": number, "pergunta": text, "erros": problems})
            continue
        seen.add(key)
        files.add(topic, tipo, text)
        accepted += 1
    report: dict[str, Any] = {"linhas": len(rows), "aceitas": accepted, "erros": errors,
                              "auditoria": None}
    if accepted and not dry_run:
        saved = knowledge_store.save(db, root, actor, "qa.import",
                                     f"Importa {accepted} pergunta(s)", files.contents(),
                                     {"linhas": len(rows), "erros": len(errors)})
        report["auditoria"] = saved.audit_id
    return report
