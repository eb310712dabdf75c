"""The app database: migrations and round trips, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from iara.db import ChannelUpdate, Database, Feedback, init_db


def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_ready()
    init_db(db.engine)  # a second upgrade is a no-op
    tables = set(inspect(db.engine).get_table_names())
    assert {"feedback", "unanswered_questions", "channel_updates", "deliveries",
            "alembic_version"} <= tables
    db.dispose()


def test_rows_survive_a_new_connection(database_url: str) -> None:
    with Database(database_url).session() as session:
        session.add(Feedback(sender="web:a", channel="web", value="util", question="q",
                             item="3.2.2"))
    with Database(database_url).session() as session:
        rows = session.scalars(select(Feedback)).all()
    assert [(r.sender, r.value, r.item) for r in rows] == [("web:a", "util", "3.2.2")]
    assert rows[0].created_at is not None


def test_a_failed_transaction_keeps_nothing(database_url: str) -> None:
    db = Database(database_url)
    with db.session() as session:
        session.add(ChannelUpdate(platform="telegram", update_id="1"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(Feedback(sender="web:b", channel="web", value="util", question=""))
        session.flush()
        session.add(ChannelUpdate(platform="telegram", update_id="1"))
    with db.session() as session:
        assert session.scalars(select(Feedback)).all() == []
