"""The library API: everything the CLI and the web app do, they do through :class:`Tidings`."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tidings import config
from tidings.errors import BadQuery, InputError, NotFound, TidingsError, describe
from tidings.ingest import identity, opml, pipeline
from tidings.ingest.detect import FEED_KINDS
from tidings.ingest.fetch import Fetched, fetch_conditional
from tidings.ingest.guard import AddressRefused
from tidings.models import Article, Document, Parsed
from tidings.store import accounts, database, documents
from tidings.store import app_passwords as app_password_store
from tidings.store import articles as article_store
from tidings.store import candidates as candidate_store
from tidings.store import events as event_store
from tidings.store import folders as folder_store
from tidings.store import read_state as read_state_store
from tidings.store import readers as reader_store
from tidings.store import sources as source_store
from tidings.store import stories as story_store
from tidings.store import streams as stream_store
from tidings.store import subscriptions as subscription_store
from tidings.store.accounts import Session
from tidings.store.app_passwords import AppPassword
from tidings.store.documents import IngestResult
from tidings.store.folders import Folder, Subscription
from tidings.store.read_state import ArticleState
from tidings.store.readers import Reader
from tidings.store.sources import Source
from tidings.store.stories import Story
from tidings.store.streams import Item, Ref, Stream

if TYPE_CHECKING:
    from tidings.poll import Poller, PollReport, SourceOutcome
    from tidings.rank.feed import FeedBuilder, FeedPage, Filtered
    from tidings.rank.signals import Event, Muted
    from tidings.rank.training import TrainReport
    from tidings.search import SavedSearch, Searcher, SearchPage
    from tidings.store.fever_items import FeverItem
    from tidings.understand.pipeline import Understander, UnderstandReport

Progress = Callable[[int, int], None]  # (articles saved so far, articles in this input)
MIN_PASSWORD = 8


MAX_SOURCES_ENV = "TIDINGS_MAX_SOURCES_PER_READER"
MAX_SOURCES_PER_READER = 1000  # each is polled for as long as it is followed
MAX_IMPORT_OUTLINES = 10_000  # an OPML import looks at no more than this many feeds
IMPORT_BATCH = 100  # sources written per transaction, so that other writers get their turn
MAX_TITLE_CHARS = 300
# A newsroom's API key, once found valid, is trusted this long by the process without a
# store read (keys are never revoked today; one made invalid would stop working within it).
KEY_SECONDS = 60.0
KEYS_KEPT = 1000
# spaces, control characters and lone surrogates: nothing a URL may hold, and the last
# cannot even be stored
_BAD_URL_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")

__all__ = ["KEEP", "DemoLoad", "IngestResult", "OpmlImport", "Tidings"]


class _Keep:
    """The default of an edit's field: leave it as it is (None means "clear" there)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def max_sources_per_reader() -> int:
    """``TIDINGS_MAX_SOURCES_PER_READER`` (default 1,000): how many sources one reader may
    follow. Every source is fetched again and again, so one account must not be able to
    make the server poll without bound."""
    raw = os.environ.get(MAX_SOURCES_ENV, "").strip()
    if not raw:
        return MAX_SOURCES_PER_READER
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_SOURCES_ENV}: {raw!r} is not a whole number of at least 1")
    return value


@dataclass(slots=True)
class DemoLoad:
    """What loading the demo corpus did: one ingest result per part of the pack, and how many
    articles took their understanding from the pack."""

    results: list[IngestResult] = field(default_factory=list)
    understood: int = 0

    @property
    def error(self) -> str | None:
        return next((r.error for r in self.results if r.status == "error"), None)

    @property
    def added(self) -> int:
        return sum(r.added for r in self.results)

    @property
    def updated(self) -> int:
        return sum(r.updated for r in self.results)

    @property
    def unchanged(self) -> int:
        return sum(r.unchanged for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "understood_from_pack": self.understood,
            "inputs": [
                {k: v for k, v in r.to_dict().items() if k != "articles"} for r in self.results
            ],
        }


@dataclass(slots=True)
class OpmlImport:
    """What an OPML import did: each source it listed with whether it is new (to the store,
    or to the reader's list), how many feeds were left out (over the cap) and why. Iterates
    as ``(source, new)`` pairs."""

    sources: list[tuple[Source, bool]] = field(default_factory=list)
    left_out: int = 0
    warnings: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[Source, bool]]:
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)


def _now() -> datetime:
    return datetime.now(UTC)


class Tidings:
    """One tidings store. ``Tidings()`` opens the default SQLite file; pass a URL for another.

    The schema is migrated to the newest revision on open.
    """

    def __init__(self, database_url: str | None = None) -> None:
        self.database_url = config.database_url(database_url)
        self.engine = database.create(self.database_url)
        database.migrate(self.engine)
        self._understander: Understander | None = None
        self._understanding = threading.Lock()  # one understand run at a time per store
        self._feeds: FeedBuilder | None = None
        self._searcher: Searcher | None = None
        self.stopping = threading.Event()  # set by shutdown(): background work winds down
        self._wake = threading.Event()  # set when sources fall due: a poller waiting wakes
        self._keys: dict[str, tuple[float, str]] = {}  # valid key → (checked, its name)

    def close(self) -> None:
        if self._feeds is not None:
            self._feeds.close()  # impressions still queued are written first
        if self._searcher is not None:
            self._searcher.close()
        self.engine.dispose()

    def shutdown(self) -> None:
        """Ask this store's background work to stop soon: a poller's ``run_forever`` (when
        given :attr:`stopping`, as ``tidings serve`` does) and :meth:`fetch_subscriptions`
        stop between sources instead of working through their list. The server calls it
        on shutdown; :meth:`close` still closes the store."""
        self.stopping.set()
        self._wake.set()

    def wake_poller(self) -> None:
        """Have a poller of this process that waits between rounds look for due sources
        now (pollers in other processes find them within their idle wait)."""
        self._wake.set()

    def __enter__(self) -> Tidings:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- ingest ---------------------------------------------------------------------------

    def ingest(
        self,
        inputs: Iterable[str],
        *,
        kind: str | None = None,
        progress: Progress | None = None,
        skipped: pipeline.Skipped | None = None,
    ) -> Iterator[IngestResult]:
        """Ingest each path or URL (folders expand to their files); one result per input.

        A failing input never stops the others, and never leaves half its articles stored.
        Files a folder holds that are not news (LICENSE, README, pictures…) are not read:
        each is passed to ``skipped`` with the reason.
        """
        for name in pipeline.expand(inputs, skipped):
            try:
                doc = pipeline.read(name)
            except TidingsError as exc:
                yield IngestResult(name, None, "error", error=str(InputError(name, str(exc))))
                continue
            except Exception as exc:  # a reader's bug: this input fails, the others go in
                problem = f"could not be read ({describe(exc)})"
                yield IngestResult(name, None, "error", error=str(InputError(name, problem)))
                continue
            yield self.ingest_document(doc, kind=kind, progress=progress)

    def ingest_document(
        self,
        doc: Document,
        *,
        kind: str | None = None,
        progress: Progress | None = None,
    ) -> IngestResult:
        """Parse one document and store its articles in one transaction."""
        try:
            kind, parsed = pipeline.parse(doc, kind)
        except TidingsError as exc:
            return IngestResult(doc.name, kind, "error", error=str(InputError(doc.name, str(exc))))
        except Exception as exc:  # a parser bug must not take the batch down with it
            problem = f"could not be read ({describe(exc)})"
            return IngestResult(doc.name, kind, "error", error=str(InputError(doc.name, problem)))
        try:
            return self._store(doc, kind, parsed, progress)
        except Exception as exc:  # the transaction rolled back: nothing half-written
            problem = f"could not be stored ({describe(exc)})"
            return IngestResult(doc.name, kind, "error", error=str(InputError(doc.name, problem)))

    def _store(
        self, doc: Document, kind: str, parsed: Parsed, progress: Progress | None
    ) -> IngestResult:
        self._changed()
        with self.engine.begin() as connection:
            return documents.save(connection, doc, kind, parsed, now=_now(), progress=progress)

    def load_demo(self, progress: Progress | None = None, *, understood: bool = True) -> DemoLoad:
        """Load the bundled demo corpus: Wikinews articles and the UCI News Aggregator's
        multi-outlet headlines (adds nothing the second time). With ``understood``, what the
        pack says about them (entities, sections, embeddings, stories) goes in too, so they
        need no models: see :meth:`understand_demo`."""
        from tidings.demo import demo_documents

        docs = demo_documents()
        total = sum(doc.data.count(b"\n") for doc in docs)
        loaded = DemoLoad()
        for doc in docs:
            before = loaded.added + loaded.updated + loaded.unchanged

            def step(done: int, _total: int, before: int = before) -> None:
                if progress:
                    progress(before + done, total)

            loaded.results.append(self.ingest_document(doc, kind="jsonl", progress=step))
        if understood:
            loaded.understood = self.understand_demo()
        return loaded

    def understand_demo(self, progress: Progress | None = None) -> int:
        """Give demo articles not yet understood what the shipped pack found in them, without
        running the models; returns how many. Articles it does not match (changed since the
        pack was built, or a store using another embedding model) stay pending for
        :meth:`understand`."""
        from tidings.demo import understood as pack
        from tidings.understand.embeddings import MiniLMEmbedder

        try:
            return pack.apply(
                self.engine, pack.read(), model=MiniLMEmbedder.name, progress=progress
            )
        finally:
            self._changed()

    # -- understanding and stories --------------------------------------------------------

    def understand(
        self, *, everything: bool = False, progress: Progress | None = None
    ) -> UnderstandReport:
        """Find entities, section, embedding, key points and story for new or changed articles
        (every article with ``everything``). The models load on first use."""
        from tidings.understand.pipeline import Understander

        with self._understanding:
            if self._understander is None:
                self._understander = Understander()
            try:
                return self._understander.run(self.engine, everything=everything, progress=progress)
            finally:
                self._changed()

    def work(
        self,
        stop: threading.Event | None = None,
        *,
        once: bool = False,
        batch_size: int | None = None,
        lease_seconds: float | None = None,
        idle: float | None = None,
        owner: str | None = None,
        progress: Progress | None = None,
        on_round: Callable[[UnderstandReport], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> UnderstandReport:
        """Understand articles as they come, until ``stop`` (by default :attr:`stopping`,
        which :meth:`shutdown` sets) is set; with ``once``, what waits now and no more.
        What ``tidings work`` runs, and ``tidings serve`` in a background thread.

        Batches are claimed under leases (:mod:`tidings.understand.worker`): any number of
        workers on any number of machines share a PostgreSQL store, none understands an
        article another is on, and a killed worker's batch is taken over once its lease
        expires. The feed sees new stories after each round, and at least every
        ``FRESH_SECONDS`` while a long backlog is worked through. Returns what was done."""
        from tidings.understand import worker as work
        from tidings.understand.pipeline import BATCH_SIZE, Understander, UnderstandReport

        stop = stop or self.stopping
        with self._understanding:
            if self._understander is None:
                self._understander = Understander()
        worker = work.Worker(
            self._understander,
            self.engine,
            batch_size=batch_size or BATCH_SIZE,
            lease_seconds=lease_seconds or work.LEASE_SECONDS,
            owner=owner,
            lock=self._understanding,  # one batch at a time on this process's models
            clock=clock,
        )
        total = UnderstandReport()
        changed_at = time.monotonic()

        def batch_done(done: int, waiting: int) -> None:
            nonlocal changed_at
            if progress:
                progress(done, waiting)
            if done and time.monotonic() - changed_at >= work.FRESH_SECONDS:
                self._changed()  # a long backlog: readers see its first stories meanwhile
                changed_at = time.monotonic()

        def round_done(report: UnderstandReport) -> None:
            nonlocal changed_at
            self._changed()
            changed_at = time.monotonic()
            total.articles += report.articles
            total.stories_started += report.stories_started
            total.stories_joined += report.stories_joined
            total.seconds += report.seconds
            total.warnings.extend(report.warnings)
            if on_round:
                on_round(report)

        if once:
            try:
                round_done(worker.run_once(progress=batch_done, stop=stop))
            finally:
                worker.release()
            return total
        worker.run_forever(
            stop,
            idle=work.IDLE_SECONDS if idle is None else idle,
            progress=batch_done,
            on_round=round_done,
            on_error=on_error,
        )
        return total

    def stories(self, *, limit: int = 20, offset: int = 0, min_articles: int = 1) -> list[Story]:
        """Newest stories first; ``min_articles=2`` for those more than one article tells."""
        with self.engine.connect() as connection:
            return story_store.recent(
                connection, limit=limit, offset=offset, min_articles=min_articles
            )

    def story(self, story_id: int) -> Story:
        """One story with its timeline of articles across outlets."""
        with self.engine.connect() as connection:
            return story_store.get(connection, story_id)

    def story_count(self, *, min_articles: int = 1) -> int:
        with self.engine.connect() as connection:
            return story_store.count(connection, min_articles=min_articles)

    # -- articles -------------------------------------------------------------------------

    def article(self, article_id: int) -> Article:
        with self.engine.connect() as connection:
            return article_store.get(connection, article_id)

    def articles(
        self, *, limit: int = 20, offset: int = 0, source: str | None = None
    ) -> list[Article]:
        with self.engine.connect() as connection:
            return article_store.list_recent(connection, limit=limit, offset=offset, source=source)

    def article_count(self) -> int:
        with self.engine.connect() as connection:
            return article_store.count(connection)

    def raw_payload(self, article_id: int) -> str:
        with self.engine.connect() as connection:
            return article_store.raw_payload(connection, article_id)

    # -- sources --------------------------------------------------------------------------

    def add_source(self, url: str, *, title: str | None = None) -> tuple[Source, bool]:
        """Follow a feed or site. Returns the source and whether it was new."""
        _check_source_url(url)
        with self.engine.begin() as connection:
            return source_store.add(connection, url, now=_now(), title=title)

    def sources(self) -> list[Source]:
        with self.engine.connect() as connection:
            return source_store.all_sources(connection)

    def remove_source(self, id_or_url: str) -> Source:
        with self.engine.begin() as connection:
            return source_store.remove(connection, id_or_url)

    def import_opml(
        self, data: bytes, *, name: str = "OPML", reader: str | int | None = None
    ) -> OpmlImport:
        """Add every feed of an OPML list (to ``reader``'s own sources when given); raises
        :class:`InputError`, storing nothing, if it is not OPML. Lists each source and
        whether it is new (to the store, or to the reader's list).

        Bounded, because one reader's list must not stall everyone: at most
        :data:`MAX_IMPORT_OUTLINES` feeds are looked at and a reader's list grows to at most
        :func:`max_sources_per_reader` (the rest are counted in ``left_out``, and a warning
        names the cap); writes go in transactions of :data:`IMPORT_BATCH` sources, so other
        writers (sign-ups) wait for one batch, not the whole list. Nothing is fetched here:
        new sources are due at once, and a poller fetches them (per-host limits, leases),
        woken through :meth:`wake_poller`."""
        try:
            outlines = opml.read(data)
        except TidingsError as exc:
            raise InputError(name, str(exc)) from exc
        except Exception as exc:  # a reader's bug is still this file's problem, by name
            raise InputError(name, f"could not be read ({describe(exc)})") from exc
        wanted = [_outline(o) for o in outlines if _source_url_problem(o.url) is None]
        folders = {o.url: o.folder for o in outlines if o.folder}
        report = OpmlImport(left_out=max(len(wanted) - MAX_IMPORT_OUTLINES, 0))
        wanted = wanted[:MAX_IMPORT_OUTLINES]
        who = self.reader(reader) if reader is not None else None
        cap = max_sources_per_reader() if who is not None else None
        for start in range(0, len(wanted), IMPORT_BATCH):
            batch = wanted[start : start + IMPORT_BATCH]
            with self.engine.begin() as connection:
                if who is None:
                    report.sources += source_store.add_many(connection, batch, now=_now())
                else:
                    report.left_out += _subscribe_batch(
                        connection, who.id, batch, cap, report, folders
                    )
        if report.left_out:
            limit = f"{cap:,}" if cap is not None else f"{MAX_IMPORT_OUTLINES:,}"
            what = "sources a reader may follow" if cap is not None else "feeds an import reads"
            report.warnings.append(
                f"{name}: {report.left_out:,} feeds were left out: at most {limit} {what}"
            )
        if any(new for _, new in report.sources):
            self.wake_poller()
        return report

    def export_opml(self, reader: str | int | None = None) -> str:
        """Every source (or ``reader``'s own, in their folders, with their own titles) as
        OPML, for any other feed reader."""
        if reader is None:
            return opml.write(opml.Outline(s.url, s.title, s.site_url) for s in self.sources())
        return opml.write(
            opml.Outline(
                f.source.url, f.own_title or f.source.title, f.source.site_url,
                f.folder.name if f.folder else None,
            )
            for f in self.filed_subscriptions(reader)
        )  # fmt: skip

    # -- a reader's own sources -----------------------------------------------------------

    def subscribe(self, reader: str | int, url: str) -> tuple[Source, IngestResult]:
        """Add a feed to a reader's sources. It is fetched at once, so a URL that does not
        answer, or answers with something that is not a feed, is refused with a clear
        :class:`InputError` and nothing stored. The source, the subscription, its articles,
        the reader's follow of its outlet and its first poll are stored in one
        transaction: whatever fails (a parser or the store), nothing of it stays, and the
        error names the URL. Run :meth:`understand` for the articles to reach the feed.
        A reader may follow at most :func:`max_sources_per_reader` sources."""
        url = url.strip()
        _check_source_url(url)
        who = self.reader(reader)
        cap = max_sources_per_reader()
        with self.engine.connect() as connection:
            _check_room(connection, who.id, url, cap)
        try:
            fetched = fetch_conditional(url)
        except AddressRefused as exc:  # the guard said no: say why, not "did not answer"
            raise InputError(url, str(exc)) from exc
        except TidingsError as exc:
            raise InputError(url, f"the feed did not answer ({exc})") from exc
        except Exception as exc:  # a fetcher bug: still this URL's problem, by name
            raise InputError(url, f"the feed did not answer ({describe(exc)})") from exc
        doc = fetched.document
        assert doc is not None  # nothing was asked conditionally: never "not modified"
        try:
            kind, parsed = pipeline.parse(doc)
        except TidingsError as exc:
            raise InputError(url, f"not a feed: {exc}") from exc
        except Exception as exc:  # nested 50,000 deep, a lone surrogate, a parser bug
            raise InputError(url, f"not a feed: could not be read ({describe(exc)})") from exc
        if kind not in FEED_KINDS:
            raise InputError(
                url, f"this is a {kind}, not a feed: give the address of its RSS, Atom or "
                "JSON Feed (often linked as “RSS” on the site)",
            )  # fmt: skip
        self._changed()
        try:
            with self.engine.begin() as connection:
                subscription_store.hold_list(connection, who.id)
                _check_room(connection, who.id, url, cap)
                now = _now()
                source, _ = source_store.add(connection, url, now=now, title=parsed.title)
                subscription_store.add(connection, who.id, source.id, now=now)
                result = documents.save(connection, replace(doc, url=url), kind, parsed, now=now)
                subscription_store.follow_outlets(connection, who.id, [source.id], now=now)
                source_store.record_first_poll(
                    connection, source.id, _first_poll_values(fetched, parsed, now)
                )
                return source_store.by_url(connection, url), result
        except TidingsError:
            raise
        except Exception as exc:  # rolled back whole: no source, subscription or article
            raise InputError(url, f"could not be stored ({describe(exc)})") from exc

    def unsubscribe(self, reader: str | int, id_or_url: str) -> Source:
        """Take a source off a reader's list (and stop following its outlet). Its articles
        stay: they may be other readers' sources, and they are this reader's history."""
        from tidings.rank.signals import Event, Kind

        with self.engine.begin() as connection:
            who = reader_store.get(connection, reader)
            source = source_store.find(connection, id_or_url)
            if not subscription_store.remove(connection, who.id, source.id):
                raise NotFound(f"{source.url} is not one of your sources")
            names = subscription_store.article_source_names(connection, source.id)
            event_store.append(
                connection, who.id,
                [Event(Kind.UNFOLLOW, _now(), target=f"source:{n}") for n in names],
            )  # fmt: skip
        return source

    def subscriptions(self, reader: str | int) -> list[Source]:
        """A reader's own sources, oldest first."""
        with self.engine.connect() as connection:
            who = reader_store.get(connection, reader)
            return subscription_store.of_reader(connection, who.id)

    def fetch_subscriptions(
        self,
        reader: str | int,
        *,
        only_new: bool = True,
        stop: threading.Event | None = None,
    ) -> list[IngestResult]:
        """Fetch a reader's sources now, one at a time (``only_new``: those with no article
        yet, as after an OPML import) and follow their outlets. A source that fails is
        reported in its result; the others still go in. Bounded by the reader's list (at
        most :func:`max_sources_per_reader`) and stopped between sources by ``stop`` or
        :meth:`shutdown`. The server does not call it: its poller fetches new sources."""
        who = self.reader(reader)
        listed = self.subscriptions(who.id)[: max_sources_per_reader()]
        if only_new:
            with self.engine.connect() as connection:
                fetched = subscription_store.with_articles(connection, [s.id for s in listed])
            listed = [s for s in listed if s.id not in fetched]
        results = []
        done: list[Source] = []
        for source in listed:
            if self.stopping.is_set() or (stop is not None and stop.is_set()):
                break
            done.append(source)
            try:
                doc = pipeline.read(source.url)
            except TidingsError as exc:
                problem = f"the feed did not answer ({exc})"
                results.append(IngestResult(source.url, None, "error", error=problem))
                continue
            except Exception as exc:  # one source's bug must not stop the others
                problem = f"the feed did not answer ({describe(exc)})"
                results.append(IngestResult(source.url, None, "error", error=problem))
                continue
            results.append(self.ingest_document(replace(doc, url=source.url)))
        self._follow_outlets(who.id, done)
        return results

    def _follow_outlets(self, reader_id: int, listed: Iterable[Source]) -> None:
        """Follow the outlet names the sources' articles carry (``source:<name>``)."""
        with self.engine.begin() as connection:
            subscription_store.follow_outlets(
                connection, reader_id, [s.id for s in listed], now=_now()
            )

    # -- readers and what they tell us ----------------------------------------------------

    def add_reader(self, name: str, *, follows: Iterable[str] = ()) -> Reader:
        """A new reader; ``follows`` are topics to start with (onboarding). Nothing is
        stored if any of them is unknown."""
        from tidings.rank.signals import Event, Kind

        targets = [self._target(what, must_exist=True)[0] for what in follows]
        with self.engine.begin() as connection:
            reader = reader_store.add(connection, name, now=_now())
            now = _now()
            event_store.append(
                connection, reader.id, [Event(Kind.FOLLOW, now, target=t) for t in targets]
            )
            return reader

    def reader(self, name_or_id: str | int) -> Reader:
        """A reader by name or id; :class:`NotFound` if there is none."""
        with self.engine.connect() as connection:
            return reader_store.get(connection, name_or_id)

    def readers(self, *, limit: int = 1000, offset: int = 0) -> list[Reader]:
        with self.engine.connect() as connection:
            return reader_store.all_readers(connection, limit=limit, offset=offset)

    def remove_reader(self, name_or_id: str | int) -> Reader:
        """Delete a reader and everything they did."""
        with self.engine.begin() as connection:
            return reader_store.remove(connection, name_or_id)

    def follow(self, reader: str | int, what: str) -> str:
        """Follow a topic or entity ("North Korea", "entity:kim-jong-un") or a source
        ("source:The Guardian"); returns its display name."""
        return self._choose(reader, what, "follow")

    def unfollow(self, reader: str | int, what: str) -> str:
        return self._choose(reader, what, "unfollow")

    def mute(self, reader: str | int, what: str) -> Muted:
        """Keep a topic, entity or source out of the feed (listed under filtered). A mute
        replaces a follow: the answer (its display name) says whether it did —
        ``.unfollowed``, and ``.message`` such as "Muted North Korea (you no longer follow
        it)"."""
        from tidings.rank import profile
        from tidings.rank.signals import Event, Kind, Muted

        target, name = self._target(what, must_exist=True)
        with self.engine.begin() as connection:
            who = reader_store.get(connection, reader)
            followed = target in profile.fold(event_store.for_reader(connection, who.id)).followed
            event_store.append(connection, who.id, [Event(Kind.MUTE, _now(), target=target)])
        return Muted(name, unfollowed=followed)

    def unmute(self, reader: str | int, what: str) -> str:
        return self._choose(reader, what, "unmute")

    def _choose(self, reader: str | int, what: str, kind: str) -> str:
        from tidings.rank.signals import Event, Kind

        target, name = self._target(what, must_exist=kind in ("follow", "mute"))
        with self.engine.begin() as connection:
            who = reader_store.get(connection, reader)
            event_store.append(connection, who.id, [Event(Kind(kind), _now(), target=target)])
        return name

    def _target(self, what: str, *, must_exist: bool) -> tuple[str, str]:
        """A follow target as stored ("north-korea" or "source:The Guardian") and its name."""
        from tidings.rank.features import topic_key

        what = what.strip()
        if not what:
            raise InputError(repr(what), "name a topic, an entity or a source")
        if what.startswith("search:"):  # a saved search, as follow_search keeps it
            from tidings.search import parse

            text = parse(what.removeprefix("search:")).text
            return f"search:{text}", text
        if what.startswith("source:"):
            name = what.removeprefix("source:").strip()
            if must_exist and name not in self.source_names():
                raise InputError(what, "no articles from a source of that name")
            return f"source:{name}", name
        key = topic_key(what) if ":" in what else identity.slug(what)
        with self.engine.connect() as connection:
            names = candidate_store.topic_names(connection, [key])
        if must_exist and key not in names:
            raise InputError(what, "no topic or entity of that name in any article")
        return key, names.get(key, what)

    def source_names(self) -> set[str]:
        """The source names articles carry (what ``source:<name>`` may follow)."""
        from sqlalchemy import select

        from tidings.store.schema import articles

        with self.engine.connect() as connection:
            rows = connection.execute(select(articles.c.source_name).distinct())
            return {r[0] for r in rows if r[0]}

    def following(self, reader: str | int) -> dict[str, list[str]]:
        """What a reader follows and mutes, by display name."""
        from tidings.rank import profile

        with self.engine.connect() as connection:
            who = reader_store.get(connection, reader)
            state = profile.fold(event_store.for_reader(connection, who.id))
            keys = [k for k in state.followed | state.muted if not k.startswith("source:")]
            names = candidate_store.topic_names(connection, keys)

        def shown(targets: set[str]) -> list[str]:
            return sorted(names.get(t, t.removeprefix("source:")) for t in targets)

        return {"follows": shown(state.followed), "mutes": shown(state.muted)}

    def record(
        self,
        reader: str | int,
        kind: str,
        *,
        article_id: int | None = None,
        story_id: int | None = None,
        value: float | None = None,
    ) -> Event:
        """Log what a reader did with an article or story (open, dwell, save, hide, …).

        The story of an article (or the lead article of a story) is filled in, so every
        event counts for both. Follows and mutes go through :meth:`follow` and friends.
        """
        from tidings.rank.signals import ABOUT_TARGET, Event, Kind

        try:
            event_kind = Kind(kind)
        except ValueError:
            known = ", ".join(k.value for k in Kind if k not in ABOUT_TARGET)
            raise InputError(kind, f"not an event kind (one of {known})") from None
        if event_kind in ABOUT_TARGET:
            raise InputError(kind, "follow and mute name a topic: use follow()/mute()")
        if article_id is None and story_id is None:
            raise InputError(kind, "an event needs an article or a story")
        if event_kind is Kind.DWELL and (value is None or value < 0):
            raise InputError(kind, "a dwell event needs the seconds spent (0 or more)")
        with self.engine.begin() as connection:
            who = reader_store.get(connection, reader)
            if article_id is not None:
                article = article_store.get(connection, article_id)
                story_id = article.story_id if story_id is None else story_id
            if story_id is not None:
                story = story_store.get(connection, story_id, timeline=False)
                article_id = story.lead_article_id if article_id is None else article_id
            event = Event(event_kind, _now(), article_id=article_id, story_id=story_id, value=value)
            event_store.append(connection, who.id, [event])
            _sync_read_state(connection, who.id, event)
        return event

    # -- read and starred state: what native RSS apps sync --------------------------------

    def mark_read(
        self, reader: str | int | Reader, article_ids: Iterable[int], read: bool = True
    ) -> int:
        """Mark articles read (or unread); how many changed (ids of no article are ignored).
        An article newly read is also an open, as if read in the web app: the feed keeps
        its story out and learns from it. One marked unread again brings its story back
        (an "unread" event); what was read still shapes the profile."""
        from tidings.rank.signals import Event, Kind

        ids = list(article_ids)
        now = _now()
        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            changes = read_state_store.mark(connection, who.id, ids, read=read, now=now)
            stories = read_state_store.known(connection, changes.read)
            stories |= read_state_store.known(connection, changes.unread)
            marks = [
                Event(kind, now, article_id=a, story_id=stories.get(a))
                for kind, ids in ((Kind.OPEN, changes.read), (Kind.UNREAD, changes.unread))
                for a in ids
            ]
            event_store.append(connection, who.id, marks)
        return len(changes)

    def star(
        self, reader: str | int | Reader, article_ids: Iterable[int], starred: bool = True
    ) -> int:
        """Star articles (or unstar them); how many changed (ids of no article are ignored).
        Starring saves the article's story, so it is in the web app's Saved list too."""
        from tidings.rank.signals import Event, Kind

        ids = list(article_ids)
        now = _now()
        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            changes = read_state_store.mark(connection, who.id, ids, starred=starred, now=now)
            changed = changes.starred if starred else changes.unstarred
            stories = read_state_store.known(connection, changed)
            if not starred:  # the story stays saved while another of its articles is starred
                changed = [
                    a for a in changed
                    if stories.get(a) is None
                    or not read_state_store.starred_in_story(connection, who.id, stories[a])
                ]  # fmt: skip
            kind = Kind.SAVE if starred else Kind.UNSAVE
            saves = [Event(kind, now, article_id=a, story_id=stories.get(a)) for a in changed]
            event_store.append(connection, who.id, saves)
        return len(changes)

    def mark_all_read(
        self,
        reader: str | int | Reader,
        *,
        before: datetime | None = None,
        source: str | int | None = None,
    ) -> datetime:
        """Mark read every article fetched before ``before`` (now when None; a time in the
        future counts as now), of one ``source`` (id or URL) or of all; the cut-off in
        force. :class:`NotFound` for an unknown source."""
        now = _now()
        if before is not None and before.tzinfo is None:
            before = before.replace(tzinfo=UTC)
        cut = now if before is None else min(before, now)
        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            source_id = None if source is None else _source_id(connection, source)
            return read_state_store.mark_all_read(
                connection, who.id, before=cut, source_id=source_id
            )

    def article_states(
        self, reader: str | int | Reader, article_ids: Iterable[int]
    ) -> dict[int, ArticleState]:
        """Read and starred, for each id given (an id of no article: unread, not starred)."""
        with self.engine.connect() as connection:
            who = self._who(reader, connection)
            return read_state_store.states(connection, who.id, list(article_ids))

    def unread_ids(
        self,
        reader: str | int | Reader,
        *,
        source: str | int | None = None,
        limit: int = 1000,
        newer_than: datetime | None = None,
        before_id: int | None = None,
    ) -> list[int]:
        """The reader's unread articles, newest fetched first: of their own sources, or of
        one ``source`` (id or URL). ``before_id`` continues after that article."""
        with self.engine.connect() as connection:
            who = self._who(reader, connection)
            source_ids = None if source is None else [_source_id(connection, source)]
            return read_state_store.unread_ids(
                connection, who.id, source_ids=source_ids, newer_than=newer_than,
                limit=limit, before_id=before_id,
            )  # fmt: skip

    def starred_ids(
        self, reader: str | int | Reader, limit: int = 1000, before_id: int | None = None
    ) -> list[int]:
        """The reader's starred articles, the newest starred first."""
        with self.engine.connect() as connection:
            who = self._who(reader, connection)
            return read_state_store.starred_ids(
                connection, who.id, limit=limit, before_id=before_id
            )

    def unread_counts(self, reader: str | int | Reader) -> dict[int, int]:
        """Unread articles per source id of the reader's own sources."""
        with self.engine.connect() as connection:
            return read_state_store.unread_counts(connection, self._who(reader, connection).id)

    def fever_items(
        self,
        reader: str | int | Reader,
        *,
        since_id: int | None = None,
        max_id: int | None = None,
        with_ids: Iterable[int] | None = None,
        limit: int = 50,
    ) -> tuple[list[FeverItem], int]:
        """A page of the reader's subscribed articles by id, as Fever clients sync them
        (see :func:`tidings.store.fever_items.items`), and how many they hold in all."""
        from tidings.store import fever_items

        with self.engine.connect() as connection:
            who = self._who(reader, connection)
            ids = None if with_ids is None else list(with_ids)
            found = fever_items.items(
                connection, who.id, since_id=since_id, max_id=max_id, with_ids=ids, limit=limit
            )
            return found, fever_items.total(connection, who.id)

    # -- accounts ---------------------------------------------------------------------------

    def sign_up(self, name: str, password: str) -> Session:
        """A new reader with a password, signed in."""
        if len(password) < MIN_PASSWORD:
            raise InputError("password", f"must be at least {MIN_PASSWORD} characters")
        with self.engine.begin() as connection:
            reader = reader_store.add(connection, name, now=_now())
            accounts.set_password(connection, reader.id, password)
            return accounts.open_session(connection, reader, now=_now())

    def sign_in(self, name: str, password: str) -> Session:
        """A new session; :class:`InputError` (never saying which part was wrong) if the
        name and password do not match."""
        with self.engine.begin() as connection:
            reader = accounts.check_password(connection, name, password)
            if reader is None:
                raise InputError("password", "wrong name or password")
            return accounts.open_session(connection, reader, now=_now())

    def session(self, token: str) -> Session | None:
        """The signed-in session a token belongs to, if it is valid and not expired."""
        with self.engine.connect() as connection:
            return accounts.session(connection, token, now=_now())

    def sign_out(self, token: str) -> None:
        with self.engine.begin() as connection:
            accounts.close_session(connection, token)

    def feed_token(self, reader: str | int, *, rotate: bool = False) -> str:
        """The token of a reader's private Atom feed URL (``rotate``: revoke the old one)."""
        with self.engine.begin() as connection:
            who = reader_store.get(connection, reader)
            return accounts.feed_token(connection, who.id, rotate=rotate)

    def reader_by_feed_token(self, token: str) -> Reader:
        with self.engine.connect() as connection:
            found = accounts.reader_by_feed_token(connection, token)
        if found is None:
            raise NotFound("no feed with that token (it may have been revoked)")
        return found

    def add_api_key(self, name: str) -> str:
        """A new newsroom API key (shown once; only its digest is kept)."""
        with self.engine.begin() as connection:
            return accounts.add_api_key(connection, name, now=_now())

    def api_key_name(self, key: str) -> str | None:
        """The name of the newsroom a valid key belongs to (None: no such key); a valid key
        is checked in the store again after :data:`KEY_SECONDS`."""
        known = self._keys.get(key)
        if known is not None and time.monotonic() - known[0] < KEY_SECONDS:
            return known[1]
        with self.engine.connect() as connection:
            name = accounts.api_key_name(connection, key)
        if name is not None:
            if len(self._keys) >= KEYS_KEPT:
                self._keys.clear()
            self._keys[key] = (time.monotonic(), name)
        return name

    # -- app passwords: what native RSS apps sign in with (Google Reader API, Fever) ---------

    def add_app_password(
        self, reader: str | int | Reader, label: str = ""
    ) -> tuple[AppPassword, str]:
        """A new app password and the password itself, to show once: only digests are kept.
        :class:`InputError` beyond :data:`~tidings.store.app_passwords.MAX_PER_READER`."""
        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            return app_password_store.create(connection, who.id, label, now=_now())

    def app_passwords(self, reader: str | int | Reader) -> list[AppPassword]:
        """A reader's app passwords (label, created, last used; never the secrets)."""
        with self.engine.connect() as connection:
            return app_password_store.all(connection, self._who(reader, connection).id)

    def revoke_app_password(
        self, reader: str | int | Reader, password_id: int | str
    ) -> AppPassword:
        """Revoke one app password: apps using it stop working; :class:`NotFound` for an id
        that is not the reader's."""
        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            return app_password_store.revoke(connection, who.id, password_id)

    def reader_by_app_password(self, name: str, password: str) -> Reader | None:
        """The reader if ``password`` is one of their app passwords (never the web one)."""
        with self.engine.begin() as connection:
            return app_password_store.check(connection, name, password, now=_now())

    def reader_by_fever_key(self, api_key: str) -> Reader | None:
        """The reader a Fever ``api_key`` (MD5 hex of "name:app-password") belongs to."""
        with self.engine.begin() as connection:
            return app_password_store.reader_by_fever_key(connection, api_key, now=_now())

    def app_sign_in(self, name: str, password: str) -> str | None:
        """A new token for an app signing in with ``name`` and an app password (Google
        Reader ClientLogin); None when it is not one of theirs. Only its digest is kept."""
        with self.engine.begin() as connection:
            return app_password_store.sign_in(connection, name, password, now=_now())

    def reader_by_app_token(self, token: str) -> Reader | None:
        """The reader an app token was given to (None once its app password is revoked)."""
        with self.engine.begin() as connection:
            return app_password_store.reader_by_token(connection, token, now=_now())

    # -- folders and streams: a reader's list as native RSS apps see it -----------------------

    def folders(self, reader: str | int | Reader) -> list[Folder]:
        """A reader's folders, by name."""
        with self.engine.connect() as connection:
            return folder_store.of_reader(connection, self._who(reader, connection).id)

    def filed_subscriptions(self, reader: str | int | Reader) -> list[Subscription]:
        """A reader's sources with their own titles and folders, oldest first."""
        with self.engine.connect() as connection:
            return folder_store.listed(connection, self._who(reader, connection).id)

    def edit_subscription(
        self,
        reader: str | int | Reader,
        source: str | int,
        *,
        title: str | _Keep | None = KEEP,
        folder: str | _Keep | None = KEEP,
    ) -> Subscription:
        """Give one of the reader's sources (id or URL) a title of their own (None: the
        feed's again) or file it in ``folder`` (made if new; None: in no folder).
        :class:`NotFound` when the source is not on their list."""
        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            source_id = _source_id(connection, source)
            if not subscription_store.subscribed(connection, who.id, [source_id]):
                raise NotFound(f"{source} is not one of your sources")
            if not isinstance(title, _Keep):
                folder_store.retitle(connection, who.id, source_id, title)
            if not isinstance(folder, _Keep):
                filed = None if folder is None else folder_store.ensure(connection, who.id, folder)
                folder_store.file(connection, who.id, source_id, folder=filed)
            listed = folder_store.listed(connection, who.id)
            return next(s for s in listed if s.source.id == source_id)

    def rename_folder(self, reader: str | int | Reader, old: str, new: str) -> Folder:
        """Rename a folder (into an existing name: the two become one)."""
        with self.engine.begin() as connection:
            return folder_store.rename(connection, self._who(reader, connection).id, old, new)

    def remove_folder(self, reader: str | int | Reader, name: str) -> Folder:
        """Delete a folder; its sources stay on the reader's list, in no folder."""
        with self.engine.begin() as connection:
            return folder_store.remove(connection, self._who(reader, connection).id, name)

    def stream(
        self,
        reader: str | int | Reader,
        stream: Stream,
        *,
        limit: int = 20,
        after: str | None = None,
    ) -> tuple[list[Ref], str | None]:
        """A page of a stream of the reader's subscribed articles (see
        :mod:`tidings.store.streams`) and the continuation of the next page."""
        with self.engine.connect() as connection:
            who = self._who(reader, connection)
            return stream_store.refs(connection, who.id, stream, limit=limit, after=after)

    def visible_ids(self, reader: str | int | Reader, article_ids: Iterable[int]) -> list[int]:
        """Those of ``article_ids`` the reader may see (as :meth:`stream_items` keeps them),
        without loading the articles: what marking them needs."""
        with self.engine.connect() as connection:
            who = self._who(reader, connection)
            return stream_store.visible(connection, who.id, list(article_ids))

    def stream_items(self, reader: str | int | Reader, article_ids: Iterable[int]) -> list[Item]:
        """The articles of ``article_ids`` the reader may see (their subscriptions', and
        stories their feed showed them), with sources and states, in the order given."""
        with self.engine.connect() as connection:
            who = self._who(reader, connection)
            return stream_store.items(connection, who.id, list(article_ids))

    # -- search -----------------------------------------------------------------------------

    @property
    def searcher(self) -> Searcher:
        from tidings.search import Searcher

        if self._searcher is None:
            self._searcher = Searcher(self.engine)
        return self._searcher

    def search(
        self,
        query: str,
        *,
        reader: str | int | Reader | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """Stories matching ``query`` by its words and its meaning, one row per story, best
        first; for a ``reader``, lightly re-ranked for them. The syntax: words, "a phrase",
        -word, source:, topic:, section:, before:/after:YYYY-MM-DD.
        :class:`~tidings.errors.BadQuery` when it cannot run (empty, too long)."""
        who = self._who(reader) if reader is not None else None
        return self.searcher.search(query, reader=who, limit=limit, cursor=cursor)

    def follow_search(self, reader: str | int | Reader, query: str) -> SavedSearch:
        """Save a search: its new matches enter the reader's feed ("Matches your search
        'X'"), and it has an Atom feed of its own (:meth:`search_feed`)."""
        from tidings.rank.signals import Event, Kind
        from tidings.search import SavedSearch, parse
        from tidings.search.query import MAX_SAVED_CHARS

        parsed = parse(query)
        if len(parsed.text) > MAX_SAVED_CHARS:
            raise BadQuery(f"a saved search is at most {MAX_SAVED_CHARS} characters")
        now = _now()
        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            target = f"search:{parsed.text}"
            event_store.append(connection, who.id, [Event(Kind.FOLLOW, now, target=target)])
        return SavedSearch(SavedSearch.id_of(parsed.text), parsed.text, now)

    def unfollow_search(self, reader: str | int | Reader, query_or_id: str) -> SavedSearch:
        """Stop following a saved search, named by its query or its id."""
        from tidings.rank.signals import Event, Kind

        with self.engine.begin() as connection:
            who = self._who(reader, connection)
            saved = self._saved(connection, who, query_or_id)
            target = f"search:{saved.query}"
            event_store.append(connection, who.id, [Event(Kind.UNFOLLOW, _now(), target=target)])
        return saved

    def saved_searches(self, reader: str | int | Reader) -> list[SavedSearch]:
        """The searches a reader follows, newest first."""
        with self.engine.connect() as connection:
            return _saved_searches(connection, self._who(reader, connection))

    def search_feed(
        self, feed_token: str, search_id: str, *, limit: int = 30
    ) -> tuple[Reader, SavedSearch, SearchPage]:
        """The newest matches of a reader's saved search, for its private Atom feed;
        :class:`NotFound` for an unknown token or a search they do not follow."""
        who = self.reader_by_feed_token(feed_token)
        with self.engine.connect() as connection:
            saved = self._saved(connection, who, search_id)
        return who, saved, self.searcher.newest(saved.query, limit=limit)

    def _saved(self, connection: Any, who: Reader, query_or_id: str) -> SavedSearch:
        from tidings.search import parse

        wanted = query_or_id.strip()
        for saved in _saved_searches(connection, who):
            if wanted == saved.id:
                return saved
        try:
            text = parse(wanted).text if wanted else ""
        except BadQuery:
            text = ""
        for saved in _saved_searches(connection, who):
            if text and text == saved.query:
                return saved
        raise NotFound(f"{who.name} follows no search {query_or_id!r}")

    def _who(self, reader: str | int | Reader, connection: Any = None) -> Reader:
        if isinstance(reader, Reader):
            return reader
        if connection is not None:
            return reader_store.get(connection, reader)
        with self.engine.connect() as fresh:
            return reader_store.get(fresh, reader)

    # -- the feed ---------------------------------------------------------------------------

    @property
    def feeds(self) -> FeedBuilder:
        from tidings.rank.feed import FeedBuilder

        if self._feeds is None:
            self._feeds = FeedBuilder(self.engine, searcher=self.searcher)
        return self._feeds

    def _changed(self) -> None:
        if self._searcher is not None:
            self._searcher.invalidate()
        if self._feeds is not None:
            self._feeds.invalidate()

    def feed(
        self,
        reader: str | int | Reader,
        *,
        limit: int = 30,
        cursor: str | None = None,
        record: bool = True,
    ) -> FeedPage:
        """A reader's ranked feed: one item per story, each with its reason. Shown items
        are logged as impressions (``record=False`` to look without counting, then
        :meth:`record_shown` once the page is shown)."""
        return self.feeds.build(reader, limit=limit, cursor=cursor, record=record)

    def kept_feed(self, reader: str | int | Reader, *, limit: int = 30) -> FeedPage | None:
        """A reader's first feed page when it is kept in memory and nothing changed for
        them (one store read), else None: then ask :meth:`feed`. Logs nothing."""
        return self.feeds.kept(reader, limit=limit)

    def record_shown(self, page: FeedPage, *, now: bool = False) -> None:
        """Log a feed page's items as impressions (a page made with ``record=False``);
        ``now``: written before returning even in a server (whose log is deferred), for a
        caller that next reads what the reader was shown."""
        self.feeds.record(page, now=now)

    def filtered(self, reader: str | int) -> list[Filtered]:
        """What is kept out of a reader's feed (hidden, muted, read), each with why."""
        return self.feeds.filtered(self.reader(reader))

    def popular_topics(self, limit: int = 30) -> list[tuple[str, str, int]]:
        """(key, name, articles) of the most covered topics: what onboarding offers."""
        with self.engine.connect() as connection:
            return candidate_store.popular_topics(connection, limit)

    def topic(self, what: str, *, limit: int = 30) -> tuple[str, str, list[Story]]:
        """A topic or entity ("North Korea", "entity:kim-jong-un"): its key, its name and
        its newest stories. :class:`InputError` if no article carries it."""
        key, name = self._target(what, must_exist=True)
        if key.startswith("source:"):
            raise InputError(what, "this is a source, not a topic")
        with self.engine.connect() as connection:
            ids = candidate_store.about(connection, [key], limit)
            return key, name, [story_store.get(connection, i, timeline=False) for i in ids]

    def saved(self, reader: str | int) -> list[Story]:
        """The stories a reader saved, the newest save first."""
        from tidings.rank import profile

        with self.engine.connect() as connection:
            who = reader_store.get(connection, reader)
            state = profile.fold(event_store.for_reader(connection, who.id))
            found = []
            for story_id in sorted(state.saved, key=state.saved.__getitem__, reverse=True):
                try:
                    found.append(story_store.get(connection, story_id, timeline=False))
                except NotFound:  # regrouped or deleted since: nothing to show
                    continue
            return found

    def train(self, *, kind: str = "lightgbm", progress: Progress | None = None) -> TrainReport:
        """Learn the scorer from every logged impression; the next feed uses it."""
        from tidings.rank.training import train

        report = train(self.engine, kind=kind, progress=progress)
        self._changed()
        return report

    def reset_scorer(self) -> int:
        """Forget every trained scorer: the feed goes back to the prior. Returns how many."""
        from sqlalchemy import delete

        from tidings.store.schema import scorers

        with self.engine.begin() as connection:
            removed = connection.execute(delete(scorers)).rowcount
        self._changed()
        return removed

    # -- polling ----------------------------------------------------------------------------

    def poller(self, *, understand: bool = True, **options: Any) -> Poller:
        """A :class:`~tidings.poll.Poller` over this store (``threads``, ``per_host``,
        ``lease_seconds``…): ``run_once()``, or ``run_forever(stop_event)`` in a background
        thread (pass :attr:`stopping` for :meth:`shutdown` to stop it). After a round that
        brought articles it runs :meth:`understand` unless ``understand`` is False;
        :meth:`wake_poller` ends its wait between rounds."""
        from tidings.poll import Poller

        on_new = (lambda: self.understand().articles) if understand else None
        return Poller(self.engine, on_new_articles=on_new, wake=self._wake, **options)

    def poll(
        self,
        *,
        everything: bool = False,
        progress: Callable[[SourceOutcome], None] | None = None,
        **options: Any,
    ) -> PollReport:
        """Poll every source that is due (every source with ``everything``; still a
        conditional GET), store what changed and schedule each one's next poll. Safe to run
        from several processes at once (see :mod:`tidings.poll.leases`); :meth:`shutdown`
        ends it after the fetches under way."""
        poller = self.poller(**options)
        return poller.run_once(everything=everything, progress=progress, stop=self.stopping)

    def set_full_text(self, id_or_url: str, mode: str) -> Source:
        """Whether polling a source fetches the pages its entries link to for their full
        text: ``"auto"`` (only for entries that give just a summary; the default),
        ``"always"`` or ``"never"``. See :mod:`tidings.ingest.fulltext`."""
        try:
            with self.engine.begin() as connection:
                return source_store.set_full_text(connection, id_or_url, mode)
        except ValueError as exc:
            raise InputError(id_or_url, str(exc)) from exc


def _check_source_url(url: str) -> None:
    problem = _source_url_problem(url)
    if problem is not None:
        shown = url[:80] + "…" if len(url) > 80 else url
        raise InputError(shown or repr(url), problem)


def _source_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a source, or None."""
    if len(url) > 2048:
        return "a source URL may be at most 2,048 characters"
    if _BAD_URL_CHARACTER.search(url):
        return "a source URL may not hold spaces, control characters or broken characters"
    if not pipeline.is_url(url):
        return "a source must be an http:// or https:// URL"
    return None


def _check_room(connection: Any, reader_id: int, url: str, cap: int) -> None:
    """Refuse a new source to a reader whose list is full (one already on it is fine)."""
    if subscription_store.count(connection, reader_id) < cap:
        return
    try:
        source: Source | None = source_store.by_url(connection, url)
    except NotFound:
        source = None
    if source is None or not subscription_store.subscribed(connection, reader_id, [source.id]):
        raise InputError(
            url, f"a reader may follow at most {cap:,} sources: remove one to add another"
        )


def _subscribe_batch(
    connection: Any,
    reader_id: int,
    batch: list[tuple[str, str | None, str | None]],
    cap: int | None,
    report: OpmlImport,
    folders: dict[str, str],
) -> int:
    """Put one batch of an import on a reader's list, within the cap, each new one in its
    folder (``folders``: URL → name); how many of it were left out. Sources already on the
    list are listed as known, take no room and stay where the reader filed them."""
    now = _now()
    subscription_store.hold_list(connection, reader_id)
    urls = [url for url, _, _ in batch]
    known = {s.url: s for s in source_store.by_urls(connection, urls)}
    already = subscription_store.subscribed(connection, reader_id, [s.id for s in known.values()])
    room = (cap or 0) - subscription_store.count(connection, reader_id)
    taken = []
    left_out = 0
    for outline in batch:
        source = known.get(outline[0])
        if source is not None and source.id in already:
            continue
        if room <= 0:
            left_out += 1
            continue
        taken.append(outline)
        room -= 1
    added = source_store.add_many(connection, taken, now=now)
    new_to_reader = subscription_store.add_many(
        connection, reader_id, [s.id for s, _ in added], now=now
    )
    # sources other readers brought in have articles: their outlets are followed now (the
    # poller does it for the others, when it first stores their articles)
    subscription_store.follow_outlets(
        connection, reader_id, sorted(subscription_store.with_articles(connection, new_to_reader)),
        now=now,
    )  # fmt: skip
    titles = {url: title for url, title, _ in taken}
    for source, _ in added:
        if source.id not in new_to_reader:
            continue
        if titles.get(source.url) and titles[source.url] != source.title:  # the list's name
            folder_store.retitle(connection, reader_id, source.id, titles[source.url])
        if name := folders.get(source.url):
            try:
                folder = folder_store.ensure(connection, reader_id, name)
            except InputError:  # "For you", or past the folder cap: the feed goes in unfiled
                continue
            folder_store.file(connection, reader_id, source.id, folder=folder)
    listed = {s.url: (s, s.id in new_to_reader) for s, _ in added}
    listed |= {u: (known[u], False) for u in urls if u in known and known[u].id in already}
    report.sources += [listed[u] for u in urls if u in listed]
    return left_out


def _outline(o: opml.Outline) -> tuple[str, str | None, str | None]:
    """An OPML outline as a source row: a title within bounds, a site URL only if usable."""
    title = o.title[:MAX_TITLE_CHARS] if o.title else None
    site = o.site_url if o.site_url and _source_url_problem(o.site_url) is None else None
    return o.url, title, site


def _first_poll_values(fetched: Fetched, parsed: Parsed, now: datetime) -> dict[str, Any]:
    """A subscription's fetch counted as the source's first poll (unless a poller got there
    first): its health reads "ok" at once and the poller's schedule starts."""
    from tidings.poll import schedule

    rate = schedule.publishing_rate((a.published for a in parsed.articles), now)
    interval = schedule.adapted_interval(rate)
    return schedule.success_values(now, fetched.status, interval) | {
        "items_per_day": rate, "etag": fetched.etag, "last_modified": fetched.last_modified,
    }  # fmt: skip


def _saved_searches(connection: Any, who: Reader) -> list[SavedSearch]:
    """A reader's followed searches from their follow events (the later event wins), each
    since it was last followed, newest first."""
    from tidings.rank.signals import Kind
    from tidings.search import SavedSearch

    since: dict[str, datetime] = {}
    for event in event_store.for_reader(connection, who.id):
        target = event.target or ""
        if not target.startswith("search:"):
            continue
        query = target.removeprefix("search:")
        if event.kind is Kind.FOLLOW:
            since[query] = event.created
        elif event.kind in (Kind.UNFOLLOW, Kind.MUTE):
            since.pop(query, None)
    ordered = sorted(since.items(), key=lambda item: item[1], reverse=True)
    return [SavedSearch(SavedSearch.id_of(q), q, when) for q, when in ordered]


def _sync_read_state(connection: Any, reader_id: int, event: Event) -> None:
    """What the web app does is what an RSS app sees: opening an article reads it (and
    "unread" unreads it), saving
    stars it (the story's lead article when only a story is given), unsaving unstars the
    story's starred articles."""
    from tidings.rank.signals import Kind

    now = event.created
    if event.kind is Kind.OPEN and event.article_id is not None:
        read_state_store.mark(connection, reader_id, [event.article_id], read=True, now=now)
    elif event.kind is Kind.UNREAD and event.article_id is not None:
        read_state_store.mark(connection, reader_id, [event.article_id], read=False, now=now)
    elif event.kind is Kind.SAVE and event.article_id is not None:
        read_state_store.mark(connection, reader_id, [event.article_id], starred=True, now=now)
    elif event.kind is Kind.UNSAVE:
        ids = [] if event.article_id is None else [event.article_id]
        if event.story_id is not None:
            ids += read_state_store.starred_in_story(connection, reader_id, event.story_id)
        read_state_store.mark(connection, reader_id, ids, starred=False, now=now)


def _source_id(connection: Any, source: str | int) -> int:
    """The id of a source given by id or URL; :class:`NotFound` naming it otherwise."""
    try:
        return source_store.find(connection, str(source).strip()).id
    except NotFound:
        raise NotFound(f"no source {source!r} (give its id or its URL)") from None
