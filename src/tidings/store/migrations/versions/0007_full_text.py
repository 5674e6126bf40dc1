"""Full text: per source, whether the page an entry links to is fetched when the feed
gives only a summary ("auto" while NULL, "always" or "never").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("full_text", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("full_text")
