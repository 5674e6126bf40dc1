"""Search: a full-text index of every article's title (weighted most), key points and
body, kept up to date by the database itself on every insert, update and delete, whatever
code path writes the article, and built here for the articles already stored.

SQLite: a contentless FTS5 table ``article_search`` (Porter stemming, Unicode folding with
diacritics removed) filled by triggers; it holds the index alone, a third of the size of one
that also kept the text. PostgreSQL: a generated ``tsvector`` column with a GIN index,
through a text search configuration ``tidings_search`` (English stemming, and diacritics
removed where the ``unaccent`` extension is available).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# One text per article: its title, then key points and paragraphs, one a line.
_SQLITE_BODY = (
    "coalesce((SELECT group_concat(value, char(10)) FROM json_each(new.key_points)), '')"
    " || char(10) || "
    "coalesce((SELECT group_concat(value, char(10)) FROM json_each(new.paragraphs)), '')"
)
_SQLITE_ADD = (
    f"INSERT INTO article_search(rowid, title, body) VALUES (new.id, new.title, {_SQLITE_BODY});"
)
# The index keeps no copy of the text (snippets are cut from the article itself), so a row
# leaves it by the 'delete' command with the very values it went in with.
_SQLITE_REMOVE = (
    "INSERT INTO article_search(article_search, rowid, title, body)"
    f" VALUES ('delete', old.id, old.title, {_SQLITE_BODY.replace('new.', 'old.')});"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "title, body, content = '', tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        # bm25 with the title ten times the weight of the body: the default ORDER BY rank.
        op.execute(
            "INSERT INTO article_search(article_search, rank) VALUES ('rank', 'bm25(10.0, 1.0)')"
        )
        op.execute(
            f"CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN {_SQLITE_ADD} END"
        )
        op.execute(
            "CREATE TRIGGER article_search_update AFTER UPDATE OF title, key_points, paragraphs"
            f" ON articles BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END"
        )
        op.execute(
            "CREATE TRIGGER article_search_delete AFTER DELETE ON articles"
            f" BEGIN {_SQLITE_REMOVE} END"
        )
        op.execute(
            "INSERT INTO article_search(rowid, title, body) SELECT id, title, "
            + _SQLITE_BODY.replace("new.", "articles.")
            + " FROM articles"
        )
        op.execute("INSERT INTO article_search(article_search) VALUES ('optimize')")
        return
    mapping = "english_stem"
    available = bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'"
    ).first()
    if available is not None:
        # In public, so that dropping a schema (a test's, say) never takes it with it.
        with bind.begin_nested():
            try:
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
            except Exception:  # no right to create it: stemming without folding
                available = None
        if available is not None:
            where = bind.exec_driver_sql(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                " ON n.oid = e.extnamespace WHERE e.extname = 'unaccent'"
            ).scalar_one()
            mapping = f'"{where}".unaccent, english_stem'
    op.execute("CREATE TEXT SEARCH CONFIGURATION tidings_search (COPY = pg_catalog.english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION tidings_search ALTER MAPPING FOR"
        f" hword, hword_part, word WITH {mapping}"
    )
    op.execute(
        "ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('tidings_search', coalesce(title, '')), 'A') || "
        "setweight(to_tsvector('tidings_search', coalesce(key_points, '[]'::json)), 'B') || "
        "setweight(to_tsvector('tidings_search', coalesce(paragraphs, '[]'::json)), 'C')"
        ") STORED"
    )
    op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS article_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS article_search")
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_search")
    op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
    op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS tidings_search")
