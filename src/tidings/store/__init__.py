"""The store: one durable home for articles and sources (SQLAlchemy Core + Alembic)."""
