"""Subscriptions: which sources each reader follows (their own list, added and removed in
settings or by OPML), so one reader's sources never change another's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column(
            "reader_id", sa.Integer, sa.ForeignKey("readers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("added_at", UTCDateTime, nullable=False),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("subscriptions")
