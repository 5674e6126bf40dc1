"""Folders and app sign-ins, for native RSS apps: a reader files subscriptions in folders
(Google Reader labels, Fever groups) and may give a subscription a title of their own; an
app that signed in with an app password (Google Reader ClientLogin) holds a token, stored as
a SHA-256 digest and gone with the app password it came from.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "folders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "reader_id",
            sa.Integer,
            sa.ForeignKey("readers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("reader_id", "name", name="uq_folders_reader_name"),
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("title", sa.String(500)))
        batch.add_column(
            sa.Column(
                "folder_id",
                sa.Integer,
                sa.ForeignKey("folders.id", name="fk_subscriptions_folder", ondelete="SET NULL"),
            )
        )
    op.create_table(
        "app_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "app_password_id",
            sa.Integer,
            sa.ForeignKey("app_passwords.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "reader_id",
            sa.Integer,
            sa.ForeignKey("readers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_app_tokens_password", "app_tokens", ["app_password_id"])


def downgrade() -> None:
    op.drop_index("ix_app_tokens_password", table_name="app_tokens")
    op.drop_table("app_tokens")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("folder_id")
        batch.drop_column("title")
    op.drop_table("folders")
