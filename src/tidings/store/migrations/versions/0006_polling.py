"""Polling: per-source validators (ETag, Last-Modified), an adaptive schedule, health
(last success, last error, consecutive errors, items per day) and a lease, so that several
workers share the polling without fetching a source twice at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("etag", sa.Text))
        batch.add_column(sa.Column("last_modified", sa.Text))
        batch.add_column(sa.Column("next_poll_at", UTCDateTime))
        batch.add_column(
            sa.Column("interval_seconds", sa.Integer, nullable=False, server_default="3600")
        )
        batch.add_column(sa.Column("errors", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_polled_at", UTCDateTime))
        batch.add_column(sa.Column("last_status", sa.Integer))
        batch.add_column(sa.Column("last_success_at", UTCDateTime))
        batch.add_column(sa.Column("last_error_at", UTCDateTime))
        batch.add_column(sa.Column("last_error", sa.Text))
        batch.add_column(sa.Column("items_per_day", sa.Float))
        batch.add_column(sa.Column("lease_owner", sa.String(200)))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime))
        batch.create_index("ix_sources_next_poll_at", ["next_poll_at"])


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_index("ix_sources_next_poll_at")
        for name in (
            "lease_expires_at", "lease_owner", "items_per_day", "last_error", "last_error_at",
            "last_success_at", "last_status", "last_polled_at", "errors", "interval_seconds",
            "next_poll_at", "last_modified", "etag",
        ):  # fmt: skip
            batch.drop_column(name)
