"""CAUC snapshots: entes, snapshots, item statuses, alert subscriptions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cauc_entes",
        sa.Column("ibge", sa.String(7), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False, index=True),
        sa.Column("uf", sa.String(2), nullable=False, index=True),
        sa.Column("region", sa.String(2)),
        sa.Column("population", sa.Integer),
        sa.Column("siafi", sa.String(8)),
        sa.Column("cnpj", sa.String(14), unique=True),
    )
    op.create_table(
        "cauc_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("snapshot_date", sa.Date, nullable=False, index=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("scope", sa.String(7), nullable=False),
        sa.Column("layout", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("source_name", sa.String(300), nullable=False),
        sa.Column("encoding", sa.String(20), nullable=False),
        sa.Column("item_codes", sa.JSON, nullable=False),
        sa.Column("ente_count", sa.Integer, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("loaded_at", TZ, nullable=False),
        sa.UniqueConstraint("kind", "snapshot_date", "scope"),
    )
    op.create_table(
        "cauc_statuses",
        # No foreign keys: written only by the loader, with its snapshot and entes, in one
        # transaction (checking them doubled the load time of a 156k-row file).
        sa.Column("snapshot_id", sa.Integer, primary_key=True),
        sa.Column("ibge", sa.String(7), primary_key=True),
        sa.Column("item", sa.String(10), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_until", sa.Date),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "cauc_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ibge", sa.String(7), sa.ForeignKey("cauc_entes.ibge"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("channel_user", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("ibge", "channel", "channel_user"),
    )
    op.create_index("ix_cauc_subscriptions_user", "cauc_subscriptions",
                    ["channel", "channel_user"])


def downgrade() -> None:
    op.drop_index("ix_cauc_subscriptions_user", table_name="cauc_subscriptions")
    for table in ("cauc_subscriptions", "cauc_statuses", "cauc_snapshots", "cauc_entes"):
        op.drop_table(table)
