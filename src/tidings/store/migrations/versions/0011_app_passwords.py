"""App passwords: per-reader passwords for native RSS apps (the Google Reader API's
ClientLogin and the Fever API), each revocable on its own, so the web password never sits
in an app. Stored as an argon2 hash, and as a SHA-256 of its Fever key (the MD5 of
"name:password") so that a Fever request is found by one indexed digest.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_passwords",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "reader_id", sa.Integer, sa.ForeignKey("readers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("fever_key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime),
    )
    op.create_index(
        "ix_app_passwords_fever_key_hash", "app_passwords", ["fever_key_hash"], unique=True
    )
    op.create_index("ix_app_passwords_reader", "app_passwords", ["reader_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_app_passwords_reader", table_name="app_passwords")
    op.drop_index("ix_app_passwords_fever_key_hash", table_name="app_passwords")
    op.drop_table("app_passwords")
