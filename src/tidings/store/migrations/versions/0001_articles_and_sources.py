"""Articles, sources and source-given topic labels.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text),
        sa.Column("site_url", sa.Text),
        sa.Column("kind", sa.String(32), nullable=False, server_default="feed"),
        sa.Column("added_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("canonical_url", sa.String(2048), nullable=False, unique=True),
        sa.Column("url", sa.Text),
        sa.Column("external_id", sa.Text),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("key_points", sa.JSON, nullable=False),
        sa.Column("paragraphs", sa.JSON, nullable=False),
        sa.Column("byline", sa.Text),
        sa.Column("published_at", UTCDateTime),
        sa.Column("fetched_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("language", sa.Text),
        sa.Column("source_name", sa.Text),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="SET NULL")),
        sa.Column("image_url", sa.Text),
        sa.Column("image_caption", sa.Text),
        sa.Column("image_credit", sa.Text),
        sa.Column("media", sa.JSON, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
    )
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_published_at", "articles", ["published_at"])
    op.create_table(
        "topics",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
    )
    op.create_table(
        "article_topics",
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "topic_id",
            sa.String(300),
            sa.ForeignKey("topics.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("origin", sa.String(32), nullable=False, server_default="source"),
    )
    op.create_index("ix_article_topics_topic", "article_topics", ["topic_id"])


def downgrade() -> None:
    op.drop_table("article_topics")
    op.drop_table("topics")
    op.drop_table("articles")
    op.drop_table("sources")
