"""Load with faults: ``tidings serve`` under abuse, and what its well-behaved readers see.

Run on demand (not a test):

    python benchmarks/abuse.py                          # 16 clients, 10 s calm + 60 s abuse
    python benchmarks/abuse.py --seconds 20 --calm-seconds 5
    python benchmarks/abuse.py --workers 2 --flood-concurrency 96 --opml-outlines 50000
    python benchmarks/abuse.py --db 'postgresql+psycopg://postgres@127.0.0.1:5432/test'
    python benchmarks/abuse.py --flood-concurrency 0 --opml-outlines 0   # no abuse: a baseline

The store is a few hundred real articles from ../shared (the seed page, the captured feeds
of data/feeds, the 2019-2021 Wikinews articles), ingested and understood once into
benchmarks/results/abuse-base.db (built again when the inputs or this script's build change,
as abuse-base.json records; --rebuild forces it) and copied to a fresh abuse-run.db for each
run. ``--db PATH`` runs on that SQLite store in place instead (built there first if it does
not exist); ``--db postgresql+psycopg://…`` builds it in a fresh schema of that database,
dropped afterwards unless --keep.

It serves the store with ``python -m tidings serve --no-demo --no-poll`` on a free port of
127.0.0.1, waits for ``/readyz`` (or, before that route exists, ``/api/v1/topics``), signs
up --readers readers through ``POST /api/v1/accounts`` (each follows three of the most
covered topics) and fetches each one's feed once (the first ranking is not counted). Then:

1. calm (--calm-seconds): the well-behaved clients alone;
2. abuse (--seconds): the same clients, while
   - a flooder (a separate process with --flood-concurrency requests in flight, as fast as
     the server answers) posts wrong passwords to ``POST /api/v1/sessions`` and to the
     ``/signin`` form (with the form's token, as a browser would), in turn: for one
     reader's name (the first reader's) from 127.0.0.2 in the first half, for made-up
     names from --flood-addresses loopback addresses (127.0.1.x, a spread-out guesser) in
     the second; it counts the answers by status, and the victim tries the right password
     from 127.0.0.3 once in the middle of the first half and once after the flood (all
     connect to the server on 127.0.0.1; --flood-addresses 0 sends everything from it);
   - an importer, --opml-delay s in, posts an OPML list of --opml-outlines feeds to
     ``POST /api/v1/sources/opml`` as its own reader, and reports the answer's status and
     time (and what a capped import says it left out). Every feed URL is
     ``http://127.0.0.1:9/…`` (loopback; nothing listens there), so whatever the server
     fetches of them goes nowhere: its fetch guard refuses loopback addresses unless
     TIDINGS_FETCH_ALLOW allows them, which this script removes from the server's
     environment (--allow-loopback-fetch allows 127.0.0.1 instead, so the kernel refuses
     them). The server runs without its poller. Nothing ever goes beyond 127.0.0.1.

In both phases a probe times a trivial request (``/healthz``, else ``/api/v1/topics``)
every 0.1 s: the same-run reference. The --clients well-behaved clients (asyncio, one
httpx.AsyncClient, a Bearer token each; client i is reader i mod --readers) loop over a mix:
their feed (``GET /api/v1/feed?limit=30``), events on stories of that feed (``POST
/api/v1/events``: open and dwell on its article, save and hide the story, unhide one they
hid), ``GET /api/v1/saved`` and ``GET /api/v1/filtered``. Any answer that is not 2xx, or
none, is an error: there must be none. Every event answered 2xx is acknowledged; after the
run the events of the kinds the clients posted are counted, per kind, in the database for
those readers (impressions, which feeds log, and follows are left out): stored must equal
acknowledged (an event whose request got no answer may or may not be stored: counted apart).

The server's process tree's RSS is sampled every 0.2 s. The load generator and the flooder
run on the same machine as the server and compete with it for the cores. Writes
benchmarks/results/abuse.json (and abuse-server.log, the server's output, which is scanned
for tracebacks and database errors) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import resource
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

import measure  # benchmarks/measure.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared"
BASE_DB = RESULTS / "abuse-base.db"
RUN_DB = RESULTS / "abuse-run.db"
BUILD = 1  # raise to rebuild every cached base store (what it holds changed)
FEED_SUFFIXES = (".rss", ".atom", ".xml", ".json")

# The well-behaved mix: action -> weight.
MIX = {
    "feed": 30,
    "open": 14,
    "dwell": 10,
    "save": 8,
    "hide": 6,
    "unhide": 4,
    "saved": 16,
    "filtered": 12,
}
EVENT_KINDS = ("open", "dwell", "save", "hide", "unhide")
TARGETS = ("feed", "event", "saved", "filtered", "probe")
FORM_COOKIE = "tidings_form"  # the sign-in form's double-submit cookie (if the server has one)
ONE_ATTACKER, VICTIM = "127.0.0.2", "127.0.0.3"  # loopback source addresses of the flood
NOWHERE = "http://127.0.0.1:9"  # loopback, the discard port: nothing listens there
LOG_PROBLEMS = {  # what to count in the server's output
    "traceback": r"Traceback \(most recent call last\)",
    "asgi exception": r"Exception in ASGI application",
    "database locked": r"database is locked",
    "operational error": r"OperationalError",
    "pool exhausted": r"QueuePool limit",
    "integrity error": r"IntegrityError",
    "memory error": r"MemoryError",
}


# -- the store ----------------------------------------------------------------------------


def _inputs() -> list[Path]:
    """A few hundred real articles: the seed page, the captured feeds, recent Wikinews."""
    feeds = sorted(
        p
        for p in (SHARED / "data" / "feeds").iterdir()
        if p.suffix in FEED_SUFFIXES and p.name != "manifest.json"
    )
    seed = SHARED / "seed" / "000_423f00d2bfa5128c.txt"
    return [seed, *feeds, SHARED / "data" / "wikinews" / "wikinews_2019_2021.jsonl"]


def _build_key(inputs: list[Path]) -> dict[str, Any]:
    import tidings

    return {
        "build": BUILD,
        "tidings": tidings.__version__,
        "inputs": [[str(p), p.stat().st_size, int(p.stat().st_mtime)] for p in inputs],
    }


def _build(url: str, inputs: list[Path]) -> dict[str, Any]:
    """Ingest and understand ``inputs`` into the store at ``url``."""
    from tidings.library import Tidings

    t0 = time.perf_counter()
    print(f"building the store: {len(inputs)} inputs from {SHARED}, then understanding them")
    with Tidings(url) as tidings:
        results = list(tidings.ingest([str(p) for p in inputs]))
        failed = [f"{r.input}: {r.error}" for r in results if r.status != "ok"]
        for line in failed:
            print(f"  (skipped) {line}")
        tidings.understand()
        built = {
            "articles": tidings.article_count(),
            "stories": tidings.story_count(),
            "inputs_failed": len(failed),
            "seconds": round(time.perf_counter() - t0, 1),
        }
    print(f"built: {built}")
    return built


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (WAL included), over any earlier one."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def _postgres_schema(base_url: str) -> tuple[str, str]:
    """A new, empty schema in the PostgreSQL database of ``base_url``: its name and URL."""
    from sqlalchemy import create_engine

    schema = f"abuse_{secrets.token_hex(6)}"
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    joiner = "&" if "?" in base_url else "?"
    return schema, f"{base_url}{joiner}options=-csearch_path%3D{schema}"


def _drop_schema(base_url: str, schema: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


def _store(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The URL of the store this run serves, and how it was made."""
    inputs = _inputs()
    if args.db and args.db.startswith("postgresql"):
        schema, url = _postgres_schema(args.db)
        args.schema = schema
        return url, {"kind": "postgresql schema", "schema": schema, **_build(url, inputs)}
    if args.db:  # a SQLite file, used in place
        path = Path(args.db).resolve()
        url = f"sqlite:///{path}"
        if path.exists():
            return url, {"kind": "sqlite, in place", "path": str(path)}
        path.parent.mkdir(parents=True, exist_ok=True)
        return url, {"kind": "sqlite, built in place", "path": str(path), **_build(url, inputs)}
    meta = BASE_DB.with_suffix(".json")
    key = _build_key(inputs)
    known = json.loads(meta.read_text()) if meta.exists() else {}
    if args.rebuild or known.get("key") != key or not BASE_DB.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{BASE_DB}{suffix}").unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        built = _build(f"sqlite:///{BASE_DB}", inputs)
        meta.write_text(json.dumps({"key": key, "built": built}, indent=2))
        known = {"key": key, "built": built}
    else:
        print(f"reusing {BASE_DB} (built for the same inputs; --rebuild to build it again)")
    _sqlite_copy(BASE_DB, RUN_DB)
    return f"sqlite:///{RUN_DB}", {
        "kind": "sqlite, a fresh copy of the base store",
        "path": str(RUN_DB),
        "base": str(BASE_DB),
        **known["built"],
    }


def _stored_events(url: str, reader_ids: list[int]) -> dict[str, int]:
    """Events per kind stored for ``reader_ids`` (every kind, impressions included)."""
    from sqlalchemy import create_engine, func, select

    from tidings.store.schema import events

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(events.c.kind, func.count())
                .where(events.c.reader_id.in_(reader_ids))
                .group_by(events.c.kind)
            ).all()
    finally:
        engine.dispose()
    return {kind: n for kind, n in rows}


# -- the server ---------------------------------------------------------------------------


def _start(
    url: str, port: int, log: Path, args: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], float, dict[str, str]]:
    """``python -m tidings serve`` on 127.0.0.1:``port``: the process, its seconds to be
    ready, and the paths it answers for readiness and for the trivial probe."""
    import httpx

    command = [sys.executable, "-m", "tidings", "serve", "--no-demo", "--no-poll"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--db", url]
    command += ["--workers", str(args.workers)]
    env = dict(os.environ)
    env.pop("TIDINGS_DATABASE_URL", None)
    if args.allow_loopback_fetch:
        env["TIDINGS_FETCH_ALLOW"] = "127.0.0.1/32"
    else:
        env.pop("TIDINGS_FETCH_ALLOW", None)  # the guard as shipped: loopback refused
    started = time.perf_counter()
    server = subprocess.Popen(
        command,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < 180:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode}); see {log}")
        try:
            ready = httpx.get(f"{base}/readyz", timeout=5)
            if ready.status_code == 404:  # no /readyz (yet): the first real answer
                ready = httpx.get(f"{base}/api/v1/topics", timeout=5)
                paths = {"ready": "/api/v1/topics"}
            else:
                paths = {"ready": "/readyz"}
            if ready.status_code == 200:
                health = httpx.get(f"{base}/healthz", timeout=5).status_code == 200
                paths["probe"] = "/healthz" if health else "/api/v1/topics"
                return server, time.perf_counter() - started, paths
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    measure.stop_server(server)
    raise SystemExit(f"the server was not ready within 180 s; see {log}")


class _Memory(threading.Thread):
    """The server's process tree's RSS (MB), sampled every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid, self.every = pid, every
        self.t0 = time.perf_counter()
        self.samples: list[tuple[float, float]] = []
        self.marks: dict[str, float] = {}
        self.halt = threading.Event()

    def rss(self) -> float:
        return measure.process_memory(self.pid)["VmRSS"]

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append((round(time.perf_counter() - self.t0, 2), self.rss()))
            self.halt.wait(self.every)

    def mark(self, name: str) -> float:
        """Now, in seconds since sampling began (to slice the samples by phase)."""
        self.marks[name] = round(time.perf_counter() - self.t0, 2)
        return self.marks[name]

    def peak(self, start: float, end: float = float("inf")) -> float:
        return max((mb for t, mb in self.samples if start <= t <= end), default=0.0)

    def at(self, when: float) -> float:
        """The last sample at or before ``when``."""
        before = [mb for t, mb in self.samples if t <= when]
        return before[-1] if before else (self.samples[0][1] if self.samples else 0.0)

    def timeline(self, step: float = 1.0) -> list[list[float]]:
        """The peak of each ``step`` seconds: [seconds, MB]."""
        out: dict[int, float] = {}
        for t, mb in self.samples:
            out[int(t // step)] = max(out.get(int(t // step), 0.0), mb)
        return [[k * step, mb] for k, mb in sorted(out.items())]


# -- the well-behaved clients -------------------------------------------------------------


@dataclass
class _Reader:
    name: str
    password: str
    token: str = ""
    id: int = 0
    follows: list[str] = field(default_factory=list)


@dataclass
class _Tally:
    """What the well-behaved clients saw in one phase."""

    t0: float = 0.0
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)  # the first few, described
    error_count: Counter[str] = field(default_factory=Counter)  # per target
    acknowledged: Counter[str] = field(default_factory=Counter)  # per event kind
    unanswered: Counter[str] = field(default_factory=Counter)  # per event kind
    requests: int = 0

    def error(self, target: str, text: str, sent: float) -> None:
        """An error of a request sent at ``sent`` (perf_counter)."""
        self.error_count[target] += 1
        if len(self.errors) < 20:
            self.errors.append(f"sent at {sent - self.t0:.1f} s: {target}: {text}")


async def _call(
    client: Any,
    tally: _Tally,
    target: str,
    method: str,
    path: str,
    token: str | None,
    body: dict[str, Any] | None = None,
) -> Any:
    """One request of a well-behaved client: its response (None if it got none)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    tally.requests += 1
    kind = body.get("kind") if body else None
    t0 = time.perf_counter()
    try:
        response = await client.request(method, path, headers=headers, json=body)
    except httpx.HTTPError as exc:
        tally.statuses[target]["no answer"] += 1
        problem = f"{method} {path} {body or ''}: {type(exc).__name__}: {exc}"
        tally.error(target, problem, t0)
        if kind:
            tally.unanswered[kind] += 1
        return None
    ms = (time.perf_counter() - t0) * 1000
    tally.statuses[target][str(response.status_code)] += 1
    if response.is_success:
        tally.ms[target].append(ms)
        if kind:
            tally.acknowledged[kind] += 1
    else:
        text = _text(response)
        tally.error(target, f"{response.status_code} {method} {path} {body or ''}: {text}", t0)
    return response


async def _behave(
    client: Any, reader: _Reader, rng: random.Random, deadline: float, tally: _Tally, cap: int
) -> None:
    """One well-behaved client: a reader reading, saving and hiding stories of their feed."""
    actions, weights = list(MIX), list(MIX.values())
    stories: list[tuple[int, int]] = []  # (story id, lead article id) of the last feed page
    hidden: list[int] = []  # stories this client hid
    while time.perf_counter() < deadline and tally.requests < cap:
        action = rng.choices(actions, weights)[0]
        if (action in ("open", "dwell", "save", "hide") and not stories) or (
            action == "unhide" and not hidden
        ):
            action = "feed"
        if action == "feed":
            response = await _call(
                client, tally, "feed", "GET", "/api/v1/feed?limit=30", reader.token
            )
            if response is not None and response.is_success:
                items = response.json()["items"]
                stories = [(i["story_id"], i["article"]["id"]) for i in items]
            continue
        if action in ("saved", "filtered"):
            await _call(client, tally, action, "GET", f"/api/v1/{action}", reader.token)
            continue
        body: dict[str, Any] = {"kind": action}
        if action == "unhide":
            body["story_id"] = hidden.pop(rng.randrange(len(hidden)))
        else:
            story, article = rng.choice(stories)
            if action in ("open", "dwell"):
                body["article_id"] = article
                if action == "dwell":
                    body["value"] = round(rng.uniform(5, 180), 1)
            else:
                body["story_id"] = story
            if action == "hide":
                stories.remove((story, article))
                hidden.append(story)
        await _call(client, tally, "event", "POST", "/api/v1/events", reader.token, body)


async def _probe(base: str, path: str, deadline: float, tally: _Tally, timeout: float) -> None:
    """The trivial request, every 0.1 s, on a connection of its own."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        while time.perf_counter() < deadline:
            await _call(client, tally, "probe", "GET", path, None)
            await asyncio.sleep(0.1)


async def _import_opml(
    base: str, token: str, document: bytes, delay: float, timeout: float
) -> dict[str, Any]:
    """Post the OPML list after ``delay`` seconds: the answer's status, time and counts."""
    import httpx

    await asyncio.sleep(delay)
    out: dict[str, Any] = {"bytes": len(document), "started_at_seconds": round(delay, 1)}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/x-opml"}
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        try:
            response = await client.post("/api/v1/sources/opml", content=document, headers=headers)
        except httpx.HTTPError as exc:
            out.update(status=f"no answer ({type(exc).__name__})", seconds=None)
            return out
    took = time.perf_counter() - t0
    out.update(
        status=response.status_code,
        seconds=round(took, 2),
        answered_at_seconds=round(delay + took, 1),
    )
    if response.is_success and len(response.content) < 2_000_000:
        body = response.json()
        out["sources"] = len(body.get("items", []))
        out["new"] = sum(1 for item in body.get("items", []) if item.get("new"))
        for name in ("left_out", "warnings"):  # what a capped import reports, if it does
            if name in body:
                out[name] = body[name] if name == "left_out" else body[name][:3]
    elif response.is_success:  # counted in the bytes: parsing ~10 MB would stall the clients
        out["sources"] = response.content.count(b'"new":')
        out["new"] = response.content.count(b'"new":true')
    else:
        out["message"] = response.text[:300]
    if "retry-after" in response.headers:
        out["retry_after"] = response.headers["retry-after"]
    return out


def _opml(outlines: int, run: str) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0"><head><title>abuse.py</title></head><body>',
    ]
    lines += [
        f'<outline type="rss" text="Feed {n}" xmlUrl="{NOWHERE}/{run}/feed-{n}.xml" '
        f'htmlUrl="{NOWHERE}/{run}/{n}/"/>'
        for n in range(outlines)
    ]
    lines.append("</body></opml>")
    return "\n".join(lines).encode()


async def _phase(
    base: str,
    readers: list[_Reader],
    args: argparse.Namespace,
    name: str,
    seconds: float,
    probe: str,
    extra: list[Any],
) -> tuple[_Tally, float, list[Any]]:
    """The well-behaved clients and the probe for ``seconds`` (and any ``extra`` coroutines,
    waited for): what they saw, the wall seconds, and what the extras returned."""
    import httpx

    tally = _Tally()
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    t0 = time.perf_counter()
    tally.t0 = t0
    deadline = t0 + seconds
    waited = [asyncio.ensure_future(coroutine) for coroutine in extra]
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=args.timeout) as client:
        clients = [
            _behave(
                client,
                readers[i % len(readers)],
                random.Random(f"{args.seed}:{name}:{i}"),
                deadline,
                tally,
                args.requests,
            )
            for i in range(args.clients)
        ]
        await asyncio.gather(*clients, _probe(base, probe, deadline, tally, args.timeout))
        wall = time.perf_counter() - t0
    return tally, wall, list(await asyncio.gather(*waited))


# -- the flooder (a process of its own) ----------------------------------------------------


def _text(response: Any) -> str:
    """A response's body on one line (an HTML page's text without its tags), shortened."""
    text = response.text
    if "html" in response.headers.get("content-type", ""):
        text = re.sub(r"(?s)<(script|style|head)\b.*?</\1>|<[^>]+>", " ", text)
    return " ".join(text.split())[:200]


@dataclass(frozen=True)
class _Flood:
    """What the flooder does (pickled into its process)."""

    base: str
    victim: str  # a reader's name
    password: str  # theirs: tried once during the flood and once after it
    start_at: float  # time.time() to begin at
    seconds: float
    concurrency: int
    addresses: int  # made-up names come from this many addresses (0: all from 127.0.0.1)
    timeout: float
    seed: int

    def address(self, phase: str, number: int = 0) -> str | None:
        """The loopback source address of a request (None: the default, 127.0.0.1)."""
        if not self.addresses:
            return None
        if phase == "one account":
            return ONE_ATTACKER
        if phase == "victim":
            return VICTIM
        return f"127.0.1.{number % self.addresses + 1}"


def _flood_main(flood: _Flood, out: Any) -> None:
    out.put(asyncio.run(_flood(flood)))


async def _flood(flood: _Flood) -> dict[str, Any]:
    """Wrong passwords as fast as the server answers: for the victim's name from one
    address, then for made-up names from many."""
    import contextlib

    import httpx

    rng = random.Random(flood.seed)
    await asyncio.sleep(max(0.0, flood.start_at - time.time()))
    t0 = time.perf_counter()
    half, end = t0 + flood.seconds / 2, t0 + flood.seconds
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    ms: dict[str, list[float]] = defaultdict(list)  # per status
    retry_after: Counter[str] = Counter()
    problems: list[str] = []
    form_token: dict[str, str] = {}
    form_headers: dict[str, str] = {}
    sent = 0

    def client(address: str | None, connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        transport = httpx.AsyncHTTPTransport(local_address=address, limits=limits)
        return httpx.AsyncClient(base_url=flood.base, transport=transport, timeout=flood.timeout)

    async def get_form_token(one: httpx.AsyncClient) -> None:
        """The sign-in form's token and its cookie (double submit), as a browser gets them."""
        page = await one.get("/signin")
        found = re.search(r'name="csrf" value="([^"]*)"', page.text)
        cookie = page.cookies.get(FORM_COOKIE)
        one.cookies.clear()  # sent by hand: the jar would keep a Secure cookie off http
        if found:
            form_token["csrf"] = found.group(1)
        if cookie:
            form_headers["Cookie"] = f"{FORM_COOKIE}={cookie}"

    async def attacker(number: int, one: httpx.AsyncClient, many: list[httpx.AsyncClient]) -> None:
        nonlocal sent
        while (now := time.perf_counter()) < end:
            first = now < half
            name = flood.victim if first else f"ghost-{rng.getrandbits(40):010x}"
            wrong = f"wrong-{rng.getrandbits(48):012x}"
            sent += 1
            form = sent % 2 == 0
            where = ("one account" if first else "many names") + (
                ", /signin form" if form else ", POST /api/v1/sessions"
            )
            through = one if first else many[number % len(many)]
            t = time.perf_counter()
            try:
                if form:
                    response = await through.post(
                        "/signin", data={"name": name, "password": wrong, **form_token},
                        headers=form_headers,
                    )  # fmt: skip
                else:
                    response = await through.post(
                        "/api/v1/sessions", json={"name": name, "password": wrong}
                    )
                status = str(response.status_code)
                if "retry-after" in response.headers:
                    retry_after[response.headers["retry-after"]] += 1
                expected = response.status_code == 401 or (
                    response.status_code in (429, 503) and "retry-after" in response.headers
                )
                if not expected and len(problems) < 5:
                    problems.append(f"{status} {where}: {_text(response)}")
            except httpx.HTTPError as exc:
                status = f"no answer ({type(exc).__name__})"
                if len(problems) < 5:
                    problems.append(f"{status} {where}: {exc}")
            counts[where][status] += 1
            ms[status].append((time.perf_counter() - t) * 1000)

    async def right_password(when: float) -> dict[str, Any]:
        """The victim signs in with the right password, from an address of their own."""
        await asyncio.sleep(max(0.0, when - time.perf_counter()))
        t = time.perf_counter()
        async with client(flood.address("victim"), 1) as victim:
            try:
                response = await victim.post(
                    "/api/v1/sessions", json={"name": flood.victim, "password": flood.password}
                )
            except httpx.HTTPError as exc:
                return {"status": f"no answer ({type(exc).__name__})"}
        return {
            "at_seconds": round(t - t0, 1),
            "status": response.status_code,
            "ms": round((time.perf_counter() - t) * 1000, 1),
            "retry_after": response.headers.get("retry-after"),
        }

    async with contextlib.AsyncExitStack() as stack:
        one = await stack.enter_async_context(client(flood.address("one account"), 1000))
        spread = max(1, flood.addresses)
        many = [
            await stack.enter_async_context(client(flood.address("many names", n), 1000))
            for n in range(spread)
        ]
        await get_form_token(one)
        during, *_ = await asyncio.gather(
            right_password(t0 + flood.seconds / 4),
            *(attacker(n, one, many) for n in range(flood.concurrency)),
        )
    wall = time.perf_counter() - t0
    after = await right_password(time.perf_counter())
    by_status: Counter[str] = Counter()
    for seen in counts.values():
        by_status.update(seen)
    return {
        "concurrency": flood.concurrency,
        "from": {
            "one account": flood.address("one account") or "127.0.0.1",
            "many names": f"127.0.1.1-{spread}" if flood.addresses else "127.0.0.1",
            "the victim": flood.address("victim") or "127.0.0.1",
        },
        "requests": sent,
        "wall_seconds": round(wall, 1),
        "requests_per_s": round(sent / wall, 1) if wall else None,
        "by_status": dict(sorted(by_status.items())),
        "by_phase": {k: dict(sorted(v.items())) for k, v in counts.items()},
        "ms_by_status": {k: measure.stats(v) for k, v in sorted(ms.items())},
        "retry_after": dict(retry_after.most_common(5)),
        "right_password_during": during,
        "right_password_after": after,
        "form_token": bool(form_token),
        "unexpected": problems,
    }


# -- driver -------------------------------------------------------------------------------


def _sign_up(base: str, readers: list[_Reader], timeout: float) -> dict[str, Any]:
    """Sign each reader up (waiting out a 429's Retry-After) and let each follow three of the
    most covered topics."""
    import httpx

    rng = random.Random(len(readers))
    with httpx.Client(base_url=base, timeout=timeout) as client:
        topics = client.get("/api/v1/topics", params={"limit": 20}).json()["items"]
        names = [t["name"] for t in topics]
        waited = 0.0
        for reader in readers:
            for _ in range(20):
                client.cookies.clear()
                response = client.post(
                    "/api/v1/accounts", json={"name": reader.name, "password": reader.password}
                )
                if response.status_code != 429:
                    break
                pause = float(response.headers.get("retry-after", "1") or 1)
                waited += pause
                time.sleep(min(pause, 30))
            if response.status_code != 201:
                raise SystemExit(
                    f"signing up {reader.name}: {response.status_code} {response.text}"
                )
            body = response.json()
            reader.token, reader.id = body["token"], body["reader"]["id"]
            client.cookies.clear()
            for topic in rng.sample(names, min(3, len(names))):
                followed = client.post(
                    "/api/v1/follows",
                    json={"topic": topic},
                    headers={"Authorization": f"Bearer {reader.token}"},
                )
                if followed.is_success:
                    reader.follows.append(topic)
                else:
                    print(f"{reader.name} could not follow {topic}: {followed.status_code}")
    return {"topics_offered": len(names), "sign_up_waited_seconds": round(waited, 1)}


def _warm(base: str, readers: list[_Reader], timeout: float) -> list[float]:
    """Each reader's first feed (ranked afresh: not counted in the phases), in ms."""
    import httpx

    took = []
    with httpx.Client(base_url=base, timeout=timeout) as client:
        for reader in readers:
            t0 = time.perf_counter()
            response = client.get(
                "/api/v1/feed?limit=30", headers={"Authorization": f"Bearer {reader.token}"}
            )
            took.append(round((time.perf_counter() - t0) * 1000, 1))
            if not response.is_success:
                print(f"first feed of {reader.name}: {response.status_code} {response.text[:200]}")
    return took


def _phase_result(tally: _Tally, wall: float) -> dict[str, Any]:
    targets = {}
    for target in TARGETS:
        statuses = tally.statuses.get(target, Counter())
        if not statuses:
            continue
        targets[target] = {
            "requests": sum(statuses.values()),
            "errors": tally.error_count[target],
            "statuses": dict(sorted(statuses.items())),
            **measure.stats(tally.ms[target]),
        }
    clients = [ms for t, v in tally.ms.items() if t != "probe" for ms in v]
    return {
        "wall_seconds": round(wall, 1),
        "requests": tally.requests,
        "requests_per_s": round(tally.requests / wall, 1) if wall else None,
        "errors": sum(tally.error_count.values()),
        "first_errors": tally.errors[:10],
        "all_clients": measure.stats(clients),
        "targets": targets,
    }


def _log_problems(log: Path) -> dict[str, Any]:
    text = log.read_text(errors="replace") if log.exists() else ""
    counts = {name: len(re.findall(pattern, text)) for name, pattern in LOG_PROBLEMS.items()}
    lines = text.splitlines()
    firsts = [
        line.strip()[:200]
        for line in lines
        if re.search(r"Error|Exception|locked", line) and not line.startswith(" ")
    ][:8]
    return {"counts": {k: v for k, v in counts.items() if v}, "first_lines": firsts}


def _run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    url, results["store"] = _store(args)
    run = secrets.token_hex(3)
    readers = [_Reader(f"abuse-{run}-{i}", secrets.token_urlsafe(12)) for i in range(args.readers)]
    importer = _Reader(f"abuse-{run}-opml", secrets.token_urlsafe(12))
    document = _opml(args.opml_outlines, run) if args.opml_outlines else b""
    port = args.port or measure.free_port()
    base = f"http://127.0.0.1:{port}"
    log = RESULTS / "abuse-server.log"
    print(f"starting tidings serve on {base}, {args.workers} worker(s) (log: {log})")
    server, up, paths = _start(url, port, log, args)
    memory = _Memory(server.pid)
    memory.start()
    results.update(server_start_seconds=round(up, 1), paths=paths)
    try:
        results["setup"] = _sign_up(base, [*readers, importer], args.timeout)
        results["first_feed_ms"] = _warm(base, readers, args.timeout)
        memory.mark("calm")
        calm_seconds = max(args.calm_seconds, 2.0 if args.flood_concurrency else 0.0)
        flood = None
        if args.flood_concurrency:  # started now, it floods from the end of the calm
            queue = multiprocessing.get_context("spawn").Queue()
            start_at = time.time() + calm_seconds
            plan = _Flood(
                base=base,
                victim=readers[0].name,
                password=readers[0].password,
                start_at=start_at,
                seconds=args.seconds,
                concurrency=args.flood_concurrency,
                addresses=args.flood_addresses,
                timeout=args.timeout,
                seed=args.seed,
            )
            flood = multiprocessing.get_context("spawn").Process(
                target=_flood_main, args=(plan, queue), name="abuse-flood"
            )
            flood.start()
        try:
            if calm_seconds:
                print(f"calm: {args.clients} clients for {calm_seconds:.0f} s")
                tally, wall, _ = asyncio.run(
                    _phase(base, readers, args, "calm", calm_seconds, paths["probe"], [])
                )
                results["calm"] = _phase_result(tally, wall)
                acknowledged, unanswered = tally.acknowledged, tally.unanswered
            else:
                acknowledged, unanswered = Counter(), Counter()
            before = memory.mark("abuse")
            flooding = (
                f"a flood of {args.flood_concurrency} sign-ins in flight"
                if args.flood_concurrency
                else "no flood"
            )
            importing = (
                f"an OPML of {args.opml_outlines:,} outlines at {args.opml_delay:.0f} s"
                if args.opml_outlines
                else "no OPML"
            )
            print(
                f"abuse: {args.clients} clients for {args.seconds:.0f} s; {flooding}; {importing}"
            )
            extra = []
            if args.opml_outlines:
                extra.append(
                    _import_opml(base, importer.token, document, args.opml_delay, args.opml_timeout)
                )
            cpu_server, cpu_self = measure.process_cpu(server.pid), _self_cpu()
            tally, wall, done = asyncio.run(
                _phase(base, readers, args, "abuse", args.seconds, paths["probe"], extra)
            )
            results["abuse"] = _phase_result(tally, wall)
            results["abuse"]["server_cpu_cores"] = round(
                (measure.process_cpu(server.pid) - cpu_server) / wall, 2
            )
            results["abuse"]["client_cpu_cores"] = round((_self_cpu() - cpu_self) / wall, 2)
            results["opml"] = (
                {"outlines": args.opml_outlines, **done[0]} if done else {"skipped": True}
            )
            acknowledged.update(tally.acknowledged)
            unanswered.update(tally.unanswered)
        finally:
            if flood is not None:  # read before joining: a child waits for its queue to drain
                try:
                    results["flood"] = queue.get(timeout=args.seconds + args.timeout + 60)
                except Empty:
                    results["flood"] = {"lost": f"the flooder ended with {flood.exitcode}"}
                flood.join(timeout=10)
                if flood.is_alive():
                    flood.terminate()
            else:
                results["flood"] = {"skipped": True}
        end = memory.mark("end")
        time.sleep(0.5)
        results["memory_mb"] = {
            "at_calm_start": memory.at(memory.marks["calm"]),
            "before_abuse": memory.at(before),
            "peak_calm": memory.peak(memory.marks["calm"], before),
            "peak_abuse": memory.peak(before, end),
            "growth_in_abuse": round(memory.peak(before, end) - memory.at(before), 1),
            "at_end": memory.at(end),
            "process_tree": measure.process_memory(server.pid),
            "timeline": memory.timeline(),
        }
        results["server_cpu_seconds"] = round(measure.process_cpu(server.pid), 1)
    finally:
        memory.halt.set()
        measure.stop_server(server)
    stored = _stored_events(url, [r.id for r in readers])
    results["events"] = {
        kind: {
            "acknowledged": acknowledged[kind],
            "stored": stored.get(kind, 0),
            "unanswered": unanswered[kind],
            "equal": acknowledged[kind] == stored.get(kind, 0),
        }
        for kind in EVENT_KINDS
    }
    results["events_other_kinds"] = {k: v for k, v in stored.items() if k not in EVENT_KINDS}
    results["server_log"] = _log_problems(log)


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _verdicts(results: dict[str, Any]) -> dict[str, bool]:
    errors = sum(results.get(p, {}).get("errors", 0) for p in ("calm", "abuse"))
    events = results.get("events", {})
    return {
        "no errors for the well-behaved clients": errors == 0,
        "events acknowledged == stored": bool(events) and all(e["equal"] for e in events.values()),
    }


def _summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=130)
    store = results["store"]
    console.print(
        f"store: {store['kind']} ({store.get('articles', '?')} articles, "
        f"{store.get('stories', '?')} stories); {results['workers']} server worker "
        f"process(es), ready in {results['server_start_seconds']} s; probe "
        f"{results['paths']['probe']}; {results['cores']} cores shared by the server, the "
        "clients, the flooder and anything else",
        markup=False,
    )
    console.print(f"before: {results['uptime_start']}", markup=False)
    calm, abuse = results.get("calm", {}), results.get("abuse", {})
    table = Table(
        title=f"{results['clients']} well-behaved clients ({results['readers']} readers) "
        "and the probe, ms (2xx answers)"
    )
    for name in ("target", "phase", "requests", "errors", "p50", "p95", "p99", "max", "p99 ×"):
        table.add_column(name, justify="left" if name in ("target", "phase") else "right")
    probe_calm = calm.get("targets", {}).get("probe", {}).get("p99_ms")
    for target in (*TARGETS, "all clients"):
        for phase, found in (("calm", calm), ("abuse", abuse)):
            if target == "all clients":
                r = {
                    "requests": found.get("requests"),
                    "errors": found.get("errors"),
                    **found.get("all_clients", {}),
                }
                if not found:
                    continue
            elif target in found.get("targets", {}):
                r = found["targets"][target]
            else:
                continue
            ratio = ""
            reference = calm.get("targets", {}).get(target, {}).get("p99_ms")
            if target == "all clients":
                reference = calm.get("all_clients", {}).get("p99_ms")
            if phase == "abuse" and reference and r.get("p99_ms"):
                ratio = f"{r['p99_ms'] / reference:.1f} calm"
            if phase == "abuse" and target == "probe" and probe_calm:
                ratio = f"{r['p99_ms'] / probe_calm:.1f} calm" if r.get("p99_ms") else ""
            table.add_row(
                target,
                phase,
                f"{r.get('requests') or 0:,}",
                str(r.get("errors", 0)),
                *(
                    f"{r[k]:.1f}" if k in r else "-"
                    for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")
                ),
                ratio,
            )
    console.print(table)
    if probe_calm and abuse.get("all_clients", {}).get("p99_ms"):
        console.print(
            f"well-behaved p99 under abuse / the trivial request's calm p99: "
            f"{abuse['all_clients']['p99_ms'] / probe_calm:.0f}×; "
            f"server {abuse.get('server_cpu_cores')} cores, clients "
            f"{abuse.get('client_cpu_cores')} cores in the abuse phase",
            markup=False,
        )
    for phase, found in (("calm", calm), ("abuse", abuse)):
        for line in found.get("first_errors", [])[:5]:
            console.print(f"  {phase} error: {line}", markup=False)
    flood = results.get("flood", {})
    if flood.get("requests") is not None:
        console.print(
            f"flood from {flood['from']}: {flood['requests']:,} sign-ins in "
            f"{flood['wall_seconds']} s "
            f"({flood['requests_per_s']}/s, {flood['concurrency']} in flight): "
            f"{flood['by_status']}; Retry-After {flood['retry_after'] or 'never sent'}",
            markup=False,
        )
        for where, seen in flood["by_phase"].items():
            console.print(f"  {where}: {seen}", markup=False)
        for status, s in flood["ms_by_status"].items():
            console.print(
                f"  {status}: p50 {s.get('p50_ms')} ms, p99 {s.get('p99_ms')} ms", markup=False
            )
        console.print(
            f"  the victim's right password: during {flood['right_password_during']}, "
            f"after {flood['right_password_after']}",
            markup=False,
        )
        for line in flood["unexpected"]:
            console.print(f"  unexpected: {line}", markup=False)
    elif flood:
        console.print(f"flood: {flood}", markup=False)
    console.print(f"OPML import: {results.get('opml')}", markup=False)
    memory = results.get("memory_mb", {})
    if memory:
        tree = memory["process_tree"]
        console.print(
            f"server RSS: {memory['before_abuse']} MB before the abuse, peak "
            f"{memory['peak_abuse']} MB during it (+{memory['growth_in_abuse']} MB), "
            f"{memory['at_end']} MB at the end; VmHWM {tree['VmHWM']} MB over "
            f"{tree['processes']} process(es)",
            markup=False,
        )
    events = results.get("events", {})
    if events:
        table = Table(title="events: acknowledged (2xx) vs stored")
        for name in ("kind", "acknowledged", "stored", "no answer", "equal"):
            table.add_column(name, justify="left" if name == "kind" else "right")
        for kind, e in events.items():
            table.add_row(
                kind,
                f"{e['acknowledged']:,}",
                f"{e['stored']:,}",
                str(e["unanswered"]),
                "yes" if e["equal"] else "NO",
            )
        console.print(table)
        console.print(
            f"other events of these readers: {results.get('events_other_kinds')}", markup=False
        )
    log = results.get("server_log", {})
    console.print(f"server log: {log.get('counts') or 'no tracebacks or errors'}", markup=False)
    for line in log.get("first_lines", [])[:5]:
        console.print(f"  {line}", markup=False)
    for name, ok in results.get("verdicts", {}).items():
        console.print(f"{'PASS' if ok else 'FAIL'}: {name}", markup=False)
    console.print(f"after: {results['uptime_end']}", markup=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db",
        help="a SQLite file to use in place (built there if missing), or a "
        "postgresql+psycopg:// URL (a fresh schema); default: a fresh copy of "
        "benchmarks/results/abuse-base.db",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the base store again")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--clients", type=int, default=16, help="well-behaved clients")
    parser.add_argument("--readers", type=int, default=8, help="readers they act for")
    parser.add_argument("--seconds", type=float, default=60, help="the abuse phase")
    parser.add_argument(
        "--calm-seconds", type=float, default=10, help="the clients alone first (0: no calm)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=1_000_000,
        help="at most this many well-behaved requests per phase",
    )
    parser.add_argument("--workers", type=int, default=1, help="tidings serve --workers")
    parser.add_argument(
        "--flood-concurrency", type=int, default=48, help="sign-ins in flight (0: no flood)"
    )
    parser.add_argument(
        "--flood-addresses",
        type=int,
        default=16,
        help="loopback addresses the made-up names come from (127.0.1.1-N; the victim's "
        f"name is flooded from {ONE_ATTACKER}, the victim signs in from {VICTIM}; 0: "
        "everything from 127.0.0.1)",
    )
    parser.add_argument(
        "--opml-outlines", type=int, default=30_000, help="feeds in the OPML (0: no import)"
    )
    parser.add_argument(
        "--opml-delay", type=float, help="seconds into the abuse (default: a quarter of it)"
    )
    parser.add_argument("--opml-timeout", type=float, default=300)
    parser.add_argument(
        "--allow-loopback-fetch",
        action="store_true",
        help="let the server fetch 127.0.0.1 (the OPML's feeds are then refused by the "
        "kernel, not by the fetch guard)",
    )
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "abuse.json")
    args = parser.parse_args()
    if args.opml_delay is None:
        args.opml_delay = args.seconds / 4
    if not 0 <= args.flood_addresses <= 254:
        raise SystemExit("--flood-addresses: 0 to 254")
    if args.readers < 1 or args.clients < 1:
        raise SystemExit("--readers and --clients must be at least 1")

    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "args": vars(args).copy(),
        "cores": os.cpu_count(),
        "clients": args.clients,
        "readers": args.readers,
        "workers": args.workers,
        "uptime_start": measure.uptime(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "the clients and the flooder share the machine's cores with the server",
    }
    print(results["uptime_start"])
    try:
        _run(args, results)
    finally:
        if getattr(args, "schema", None) and not args.keep:
            _drop_schema(args.db, args.schema)
    results["uptime_end"] = measure.uptime()
    results["verdicts"] = _verdicts(results)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    _summary(results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
