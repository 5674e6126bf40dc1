"""Understanding spread over workers: a lease on each article a worker is understanding
(who, until when), so that workers on several machines never understand one article at
once and a killed worker's articles are taken over; and a partial index of the articles
still to understand, so that looking for work stays cheap in a large store.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PENDING = sa.text("understood_at IS NULL OR understood_at < updated_at")


def upgrade() -> None:
    # Nullable columns: SQLite adds them in place (no table rebuild), PostgreSQL at once.
    op.add_column("articles", sa.Column("lease_owner", sa.String(200)))
    op.add_column("articles", sa.Column("lease_expires_at", UTCDateTime))
    op.create_index(
        "ix_articles_pending", "articles", ["id"], sqlite_where=PENDING, postgresql_where=PENDING
    )


def downgrade() -> None:
    op.drop_index("ix_articles_pending", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
