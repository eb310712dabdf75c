"""Alembic environment: runs on the connection ``iara.db.init_db`` passes in."""

from __future__ import annotations

from alembic import context

import cauc.models  # noqa: F401  (registers the CAUC tables on Base.metadata)
from iara.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through init_db
    raise RuntimeError("run migrations through iara.db.init_db")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
