"""Analysts' area: accounts, audit trail, training runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False, index=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("reverted_by", sa.Integer),
        sa.Column("created_at", TZ, nullable=False, index=True),
    )
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("release", sa.String(40)),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("baseline", sa.JSON, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("log", sa.JSON, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
    )


def downgrade() -> None:
    for table in ("training_runs", "admin_audit", "admin_users"):
        op.drop_table(table)
