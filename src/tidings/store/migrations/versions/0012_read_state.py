"""Read and starred state per reader and article, for native RSS apps (Google Reader API,
Fever): a row per article a reader marked, and a cut-off per scope for "mark all as read",
so that marking thousands of articles read at once writes one row, not thousands.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_states",
        sa.Column(
            "reader_id",
            sa.Integer,
            sa.ForeignKey("readers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("read_at", UTCDateTime),
        sa.Column("kept_unread", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("starred_at", UTCDateTime),
    )
    op.create_index("ix_article_states_starred", "article_states", ["reader_id", "starred_at"])
    op.create_table(
        "read_marks",
        sa.Column(
            "reader_id",
            sa.Integer,
            sa.ForeignKey("readers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("before", UTCDateTime, nullable=False),
    )

    # A source's articles by time: what unread lists and counts per subscription read.
    op.create_index("ix_articles_source_fetched", "articles", ["source_id", "fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_source_fetched", table_name="articles")
    op.drop_table("read_marks")
    op.drop_index("ix_article_states_starred", table_name="article_states")
    op.drop_table("article_states")
