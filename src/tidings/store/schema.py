"""The tables. Alembic migrations in ``migrations/`` create and evolve them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    or_,
)

from tidings.store.types import UTCDateTime

metadata = MetaData()

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text),
    Column("site_url", Text),
    Column("kind", String(32), nullable=False, server_default="feed"),
    Column("added_at", UTCDateTime, nullable=False),
    # Polling (revision 0006): the validators for a conditional GET, the schedule (NULL
    # next_poll_at: due now), health, and the lease of the worker polling it now.
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_poll_at", UTCDateTime, index=True),
    Column("interval_seconds", Integer, nullable=False, server_default="3600"),
    Column("errors", Integer, nullable=False, server_default="0"),  # consecutive
    Column("last_polled_at", UTCDateTime),
    Column("last_status", Integer),
    Column("last_success_at", UTCDateTime),
    Column("last_error_at", UTCDateTime),
    Column("last_error", Text),
    Column("items_per_day", Float),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    # Fetching linked pages for entries that carry only a summary (revision 0007): "auto"
    # (NULL), "always" or "never"; see tidings.ingest.fulltext.
    Column("full_text", String(16)),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    # Identity: the canonical URL (tracking parameters stripped). Entries that share a
    # link but carry distinct ids get the id folded in; URL-less inputs get a urn.
    Column("canonical_url", String(2048), nullable=False, unique=True),
    Column("url", Text),
    Column("external_id", Text),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("key_points", JSON, nullable=False),
    Column("paragraphs", JSON, nullable=False),
    Column("byline", Text),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("language", Text),
    Column("source_name", Text),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("image_url", Text),
    Column("image_caption", Text),
    Column("image_credit", Text),
    Column("media", JSON, nullable=False),
    Column("raw", Text, nullable=False),
    # Understanding (revision 0002): key points we extracted where the source gave none,
    # when the article was last understood, and the story it belongs to.
    Column("extracted_key_points", JSON),
    Column("understood_at", UTCDateTime, index=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="SET NULL"), index=True),
    # The lease of the worker understanding it now (revision 0009; see store/claims.py).
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Index("ix_articles_published_at", "published_at"),
    Index("ix_articles_source_fetched", "source_id", "fetched_at"),  # revision 0012
)

# Never understood, or changed (re-ingested with new content) since it last was.
NOT_UNDERSTOOD = or_(
    articles.c.understood_at.is_(None), articles.c.understood_at < articles.c.updated_at
)
# The articles waiting to be understood, by id: small however large the store, so workers
# looking for work find it (or that there is none) without reading every article.
Index(
    "ix_articles_pending",
    articles.c.id,
    sqlite_where=NOT_UNDERSTOOD,
    postgresql_where=NOT_UNDERSTOOD,
)

topics = Table(
    "topics",
    metadata,
    Column("id", String(300), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(32), nullable=False),
)

article_topics = Table(
    "article_topics",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", String(300), ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    # "source" (a label the outlet gave), "entity" or "section" (found by understanding).
    Column("origin", String(32), nullable=False, server_default="source"),
    Column("weight", Float, nullable=False, server_default="1"),  # mentions, or confidence
    Index("ix_article_topics_topic", "topic_id"),
    Index("ix_article_topics_topic_article", "topic_id", "article_id"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("headline", Text, nullable=False),
    Column("lead_article_id", Integer),
    Column("article_count", Integer, nullable=False, server_default="0"),
    Column("outlet_count", Integer, nullable=False, server_default="0"),
    Column("first_published", UTCDateTime),
    Column("last_published", UTCDateTime, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

article_embeddings = Table(
    "article_embeddings",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(100), nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian, L2-normalised
)

readers = Table(
    "readers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Accounts (revision 0004): an argon2 hash, and the token of the private Atom feed URL.
    Column("password_hash", Text),
    Column("feed_token", String(64), unique=True),
)

# Signed-in sessions; only a SHA-256 of the cookie's token is stored.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# A newsroom's keys for server-to-server use; only a SHA-256 of each key is stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Passwords for native RSS apps (revision 0011), several per reader, each revocable: an
# argon2 hash, and a SHA-256 of the Fever API key (MD5 of "name:password") to find it by.
app_passwords = Table(
    "app_passwords",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(200), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("fever_key_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Index("ix_app_passwords_fever_key_hash", "fever_key_hash", unique=True),
    Index("ix_app_passwords_reader", "reader_id", "id"),
)

# Which sources each reader follows (revision 0005): a reader's own list.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
    Column("title", String(500)),  # the reader's own title for it (revision 0013)
    Column("folder_id", Integer, ForeignKey("folders.id", ondelete="SET NULL")),
)

# A reader's folders (revision 0013): Google Reader labels, Fever groups.
folders = Table(
    "folders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    UniqueConstraint("reader_id", "name", name="uq_folders_reader_name"),
)

# Tokens of apps signed in with an app password (revision 0013), as SHA-256 digests.
app_tokens = Table(
    "app_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "app_password_id",
        Integer,
        ForeignKey("app_passwords.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_app_tokens_password", "app_password_id"),
)

# Read and starred state per reader and article (revision 0012), for native RSS apps. An
# article is read when its row says so, or (unless kept_unread, an explicit "unread") when
# it was fetched before a cut-off of read_marks ("all", or "source:<id>" for its source).
article_states = Table(
    "article_states",
    metadata,
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("read_at", UTCDateTime),
    Column("kept_unread", Boolean, nullable=False, server_default=false()),
    Column("starred_at", UTCDateTime),
    Index("ix_article_states_starred", "reader_id", "starred_at"),
)

# "Mark all as read" cut-offs (revision 0012): per reader and scope, only ever raised.
read_marks = Table(
    "read_marks",
    metadata,
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String(300), primary_key=True),
    Column("before", UTCDateTime, nullable=False),
)

# Append-only: what a reader did, when. Follows, mutes, hides and reading history are all
# derived from these rows, so nothing a reader said is ever overwritten.
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("story_id", Integer),  # no foreign key: stories may be regrouped, events stay
    Column("target", String(300)),  # a topic key, or "source:<name>", for follow/mute
    Column("value", Float),  # dwell seconds
    Column("request", String(64)),  # impressions of one feed request share it
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_events_reader", "reader_id", "id"),
    Index("ix_events_reader_kind", "reader_id", "kind", "id"),
    Index("ix_events_created_at", "created_at"),
)

# The story order of a reader's first feed page (revision 0008): a cursor names a place in
# one, so paging on neither repeats nor skips a story while articles arrive. A few newest
# per reader are kept, for a day (tidings.store.snapshots).
feed_snapshots = Table(
    "feed_snapshots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reader_id", Integer, ForeignKey("readers.id", ondelete="CASCADE"), nullable=False),
    Column("stories", JSON, nullable=False),  # story ids in feed order
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_feed_snapshots_reader", "reader_id", "id"),
)

# Scorers trained by `tidings train`; the newest is used (the prior when there is none).
scorers = Table(
    "scorers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("model", Text, nullable=False),  # JSON of tidings.rank.scorer.Scorer.to_dict()
    Column("metrics", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
