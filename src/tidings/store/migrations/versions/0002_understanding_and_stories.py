"""Understanding (entities, sections, embeddings, extracted key points) and stories.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("headline", sa.Text, nullable=False),
        sa.Column("lead_article_id", sa.Integer),
        sa.Column("article_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outlet_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_published", UTCDateTime),
        sa.Column("last_published", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_stories_last_published", "stories", ["last_published"])
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("extracted_key_points", sa.JSON))
        batch.add_column(sa.Column("understood_at", UTCDateTime))
        batch.add_column(
            sa.Column(
                "story_id",
                sa.Integer,
                sa.ForeignKey("stories.id", ondelete="SET NULL", name="fk_articles_story"),
            )
        )
        batch.create_index("ix_articles_story_id", ["story_id"])
        batch.create_index("ix_articles_understood_at", ["understood_at"])
    with op.batch_alter_table("article_topics") as batch:
        batch.add_column(sa.Column("weight", sa.Float, nullable=False, server_default="1"))
    op.create_table(
        "article_embeddings",
        sa.Column(
            "article_id",
            sa.Integer,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("article_embeddings")
    with op.batch_alter_table("article_topics") as batch:
        batch.drop_column("weight")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_understood_at")
        batch.drop_index("ix_articles_story_id")
        batch.drop_column("story_id")
        batch.drop_column("understood_at")
        batch.drop_column("extracted_key_points")
    op.drop_table("stories")
