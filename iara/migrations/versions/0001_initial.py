"""Feedback, unanswered questions, channel updates and deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender", sa.String(200), nullable=False, index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("value", sa.String(20), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("item", sa.String(20)),
        sa.Column("topic", sa.String(100)),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender", sa.String(200), nullable=False, index=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("created_at", TZ, nullable=False, index=True),
    )
    op.create_table(
        "channel_updates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("update_id", sa.String(200), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.UniqueConstraint("platform", "update_id"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
    )


def downgrade() -> None:
    for table in ("deliveries", "channel_updates", "unanswered_questions", "feedback"):
        op.drop_table(table)
