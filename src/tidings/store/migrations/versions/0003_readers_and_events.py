"""Readers, their append-only events, trained scorers, and topic → newest articles.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "readers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "reader_id", sa.Integer, sa.ForeignKey("readers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="SET NULL")),
        sa.Column("story_id", sa.Integer),
        sa.Column("target", sa.String(300)),
        sa.Column("value", sa.Float),
        sa.Column("request", sa.String(64)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_events_reader", "events", ["reader_id", "id"])
    op.create_index("ix_events_reader_kind", "events", ["reader_id", "kind", "id"])
    op.create_index("ix_events_created_at", "events", ["created_at"])
    # The newest articles on a topic, read in index order (a followed topic's stories).
    op.create_index("ix_article_topics_topic_article", "article_topics", ["topic_id", "article_id"])
    op.create_table(
        "scorers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scorers")
    op.drop_index("ix_article_topics_topic_article", "article_topics")
    op.drop_table("events")
    op.drop_table("readers")
