"""The unanswered-questions queue, grouped by similarity for analysts.

Questions are compared as folded-token TF-IDF vectors (accents, case and punctuation
ignored; short function words dropped) by cosine similarity; each question joins the
first group whose leader it resembles enough, so 50 variants of one question are one row
with a count. Personal data is masked again on the way out (it is masked when stored).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from iara.admin import knowledge_store, qa
from iara.admin.errors import InvalidChangeError, NotFoundError
from iara.db import Database, UnansweredQuestion
from index.text import mask_personal_data, question_key

SIMILARITY = 0.5
_STOPWORDS = ("a o as os de da do das dos e em no na nos nas um uma para pra por com que qual "
              "quais se eu meu minha nosso nossa me isso esse essa este esta ta e ao aos vc voce")
STOPWORDS = frozenset(_STOPWORDS.split(" "))
MAX_ROWS = 5000


def tokens(text: str) -> list[str]:
    return [t for t in question_key(text).split() if t not in STOPWORDS and len(t) > 1]


@dataclass
class Group:
    id: int  # the id of the group's first question
    question: str
    rows: list[UnansweredQuestion] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        times = [r.created_at for r in self.rows]
        sample = max(self.rows, key=lambda r: len(r.context or []))
        return {
            "id": self.id,
            "pergunta": mask_personal_data(self.question),
            "quantidade": len(self.rows),
            "ids": [r.id for r in self.rows],
            "variantes": list(dict.fromkeys(mask_personal_data(r.question)
                                            for r in self.rows))[:10],
            "canais": dict(Counter(r.channel for r in self.rows)),
            "motivos": dict(Counter(r.reason for r in self.rows)),
            "primeira": _iso(min(times)),
            "ultima": _iso(max(times)),
            "contexto": [{"who": c.get("who"), "text": mask_personal_data(str(c.get("text")))}
                         for c in sample.context or []],
        }


def _iso(when: datetime) -> str:
    return when.isoformat()


def group_questions(rows: list[UnansweredQuestion], threshold: float = SIMILARITY
                    ) -> list[Group]:
    docs = [Counter(tokens(r.question)) for r in rows]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    n = len(docs)

    def vector(doc: Counter[str]) -> dict[str, float]:
        vec = {t: c * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in doc.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    groups: list[tuple[Group, dict[str, float]]] = []
    for row, doc in zip(rows, docs, strict=True):
        vec = vector(doc)
        best, best_sim = None, threshold
        for group, leader in groups:
            sim = sum(v * leader.get(t, 0.0) for t, v in vec.items())
            if sim >= best_sim or (not vec and not leader):
                best, best_sim = group, sim
        if best is None:
            groups.append((Group(row.id, row.question, [row]), vec))
        else:
            best.rows.append(row)
    result = [g for g, _ in groups]
    result.sort(key=lambda g: (-len(g.rows), -max(r.created_at.timestamp() for r in g.rows)))
    return result


def open_rows(db: Database) -> list[UnansweredQuestion]:
    with db.session() as session:
        return list(session.scalars(
            select(UnansweredQuestion).where(UnansweredQuestion.status == "open")
            .order_by(UnansweredQuestion.created_at, UnansweredQuestion.id).limit(MAX_ROWS)))


def groups(db: Database) -> list[dict[str, Any]]:
    return [g.to_json() for g in group_questions(open_rows(db))]


def _group(db: Database, group_id: int) -> Group:
    for group in group_questions(open_rows(db)):
        if group.id == group_id:
            return group
    raise NotFoundError(f"Grupo {group_id} não está na fila (já tratado?).")


def _close(db: Database, ids: list[int], status: str) -> None:
    with db.session() as session:
        for row in session.scalars(select(UnansweredQuestion)
                                   .where(UnansweredQuestion.id.in_(ids))):
            row.status = status


def to_qa(db: Database, root: Any, actor: str, group_id: int, topic: str, tipo: str,
          text: str | None = None, card: str | None = None) -> dict[str, Any]:
    """Turn a group into a question of an answer card (its leading question unless
    ``text`` is given; the card named, else the topic's first card of the type)."""
    group = _group(db, group_id)
    question = mask_personal_data(text or group.question)
    ids = [r.id for r in group.rows]
    pair, audit_id = qa.add(db, root, actor, topic, tipo, question,
                            {"fila": ids, "status_antes": "open", "status_depois": "answered"},
                            card=card)
    _close(db, ids, "answered")
    return {"par": pair.to_json(), "auditoria": audit_id, "fechadas": len(ids)}


def dismiss(db: Database, actor: str, group_id: int, reason: str) -> dict[str, Any]:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidChangeError("Informe o motivo do descarte.", ["Informe o motivo."])
    group = _group(db, group_id)
    ids = [r.id for r in group.rows]
    _close(db, ids, "dismissed")
    audit_id = knowledge_store.record(
        db, actor, "queue.dismiss", f"Descarta {len(ids)} pergunta(s): {reason}",
        {"fila": ids, "motivo": reason, "pergunta": mask_personal_data(group.question),
         "status_antes": "open", "status_depois": "dismissed"})
    return {"auditoria": audit_id, "fechadas": len(ids)}
