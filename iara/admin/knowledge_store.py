"""Validated, audited changes to the knowledge tree.

Every change is applied first to a temporary copy of the tree and validated there with
:func:`index.knowledge.load_knowledge`; only a change that leaves the whole tree valid
reaches the real files, each replaced atomically (``os.replace``). Each saved change is
recorded in the audit table with every file's content before and after, so it can be
reviewed and reverted (a revert is itself a validated, audited change).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from iara.admin.errors import ConflictError, InvalidChangeError, NotFoundError
from iara.admin.models import AuditEntry
from iara.db import Database
from index.errors import KnowledgeError
from index.knowledge import Knowledge, load_knowledge

_lock = threading.Lock()


@contextlib.contextmanager
def knowledge_lock(root: Path) -> Iterator[None]:
    """One writer at a time, across threads and processes (API, CLI)."""
    lock_path = root.parent / f".{root.name}.admin.lock"
    with _lock, lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Saved:
    audit_id: int
    knowledge: Knowledge


def read(root: Path, rel: str) -> str | None:
    path = root / rel
    return path.read_text(encoding="utf-8") if path.exists() else None


def validate_with(root: Path, files: dict[str, str | None]) -> None:
    """The knowledge as it would be with ``files`` (relative path -> content, None to
    delete), validated on a temporary copy; InvalidChangeError lists the problems."""
    with tempfile.TemporaryDirectory(prefix="iara-knowledge-check-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(root, copy)
        for rel, content in files.items():
            target = copy / rel
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
        try:
            load_knowledge(copy)
        except KnowledgeError as exc:
            raise InvalidChangeError(
                "A alteração deixaria o conhecimento inválido; nada foi salvo.",
                [str(p) for p in exc.problems]) from None


def _write_atomically(path: Path, content: str | None) -> None:
    if content is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


def save(db: Database, root: Path, actor: str, action: str, summary: str,
         files: dict[str, str | None], details: dict[str, Any] | None = None,
         *, expected: dict[str, str | None] | None = None) -> Saved:
    """Validate and write ``files``, then record the change. ``expected``: the contents
    the caller based its change on (a concurrent edit in between is a conflict)."""
    with knowledge_lock(root):
        before = {rel: read(root, rel) for rel in files}
        if expected is not None:
            for rel, content in expected.items():
                if before.get(rel, read(root, rel)) != content:
                    raise ConflictError(f"{rel} mudou enquanto você editava; recarregue.")
        changed = {rel: c for rel, c in files.items() if c != before[rel]}
        if not changed:
            raise ConflictError("Nada mudou.")
        validate_with(root, changed)
        for rel, content in changed.items():
            _write_atomically(root / rel, content)
        with db.session() as session:
            entry = AuditEntry(
                actor=actor, action=action, summary=summary, details=details or {},
                changes=[{"path": rel, "before": before[rel], "after": content}
                         for rel, content in changed.items()])
            session.add(entry)
            session.flush()
            audit_id = entry.id
        return Saved(audit_id, load_knowledge(root))


def record(db: Database, actor: str, action: str, summary: str,
           details: dict[str, Any] | None = None) -> int:
    """An audit entry without file changes (dismissals, trainings, rollbacks)."""
    with db.session() as session:
        entry = AuditEntry(actor=actor, action=action, summary=summary, changes=[],
                           details=details or {})
        session.add(entry)
        session.flush()
        return entry.id


def revert(db: Database, root: Path, actor: str, audit_id: int) -> Saved:
    """Undo one recorded change: its files go back to their 'before' contents, provided
    nobody changed them since (else ConflictError)."""
    with db.session() as session:
        entry = session.get(AuditEntry, audit_id)
        if entry is None:
            raise NotFoundError(f"Alteração {audit_id} não encontrada.")
        if not entry.changes:
            raise ConflictError("Esta entrada não alterou arquivos; não há o que desfazer.")
        if entry.reverted_by is not None:
            raise ConflictError(f"Esta alteração já foi desfeita (#{entry.reverted_by}).")
        changes = list(entry.changes)
    saved = save(db, root, actor, "revert", f"Desfaz a alteração #{audit_id}",
                 {c["path"]: c["before"] for c in changes}, {"reverts": audit_id},
                 expected={c["path"]: c["after"] for c in changes})
    with db.session() as session:
        reverted = session.get(AuditEntry, audit_id)
        assert reverted is not None
        reverted.reverted_by = saved.audit_id
    return saved


def audit_log(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    with db.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                                  .limit(limit)).all()
        return [{"id": e.id, "actor": e.actor, "action": e.action, "summary": e.summary,
                 "at": e.created_at.isoformat(), "reverted_by": e.reverted_by,
                 "details": e.details, "files": [c["path"] for c in e.changes],
                 "changes": e.changes} for e in entries]
