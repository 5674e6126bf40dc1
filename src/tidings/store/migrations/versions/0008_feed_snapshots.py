"""Feed snapshots: the order of the stories a reader's first page was ranked into, so that
a cursor names a place in it and further pages neither repeat nor skip a story while
articles arrive (any worker process can read it). And honest story dates: a story's first
and last publication come from its dated articles only, never from when an undated one
(a page capture) was ingested.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "reader_id", sa.Integer, sa.ForeignKey("readers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("stories", sa.JSON, nullable=False),  # story ids in feed order
        sa.Column("created_at", UTCDateTime, nullable=False),
    )  # fmt: skip
    op.create_index("ix_feed_snapshots_reader", "feed_snapshots", ["reader_id", "id"])
    # Recount story dates from dated articles only (they used to fall back to fetched_at).
    op.execute(
        "UPDATE stories SET"
        " first_published = (SELECT MIN(a.published_at) FROM articles a"
        " WHERE a.story_id = stories.id),"
        " last_published = (SELECT MAX(a.published_at) FROM articles a"
        " WHERE a.story_id = stories.id)"
    )


def downgrade() -> None:
    op.drop_index("ix_feed_snapshots_reader", table_name="feed_snapshots")
    op.drop_table("feed_snapshots")
