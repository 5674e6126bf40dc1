"""Throttling of password checks: guessing slows down, and a flood cannot exhaust memory.

Each argon2 check takes 64 MB for a moment; 48 sign-ins at once took a server from 0.5 to
2.9 GB. So at most :attr:`PasswordGuard.checks` run at once per process, a caller waiting a
few seconds at most for a turn (503 with ``Retry-After`` after that), and every failed
attempt counts against the account and the client address: past a few free failures each
one locks that key for twice as long as the last (429 with ``Retry-After``), without a
password check. A success clears the account's count, never the address's (else one
account of the attacker's own would reset it between guesses at others).

State is in memory, **per worker process**: ``--workers N`` allows N times the rate, and a
restart forgets it. Behind a reverse proxy every client has the proxy's address, so the
address limit is generous. Any login by password (sign-in now, app passwords later) goes
through :meth:`PasswordGuard.attempt`.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from tidings.errors import InputError

T = TypeVar("T")
MAX_KEY = 200  # the longest name a reader can have: made-up long names cost no more memory


class Throttled(HTTPException):
    """429: too many failed attempts for this account or address; try after ``retry_after``."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            429,
            f"too many failed sign-ins: try again in {_wait(retry_after)}",
            headers={"Retry-After": str(retry_after)},
        )


class Busy(HTTPException):
    """503: every password check slot stayed taken for the whole wait."""

    def __init__(self, retry_after: int = 2) -> None:
        self.retry_after = retry_after
        super().__init__(
            503,
            "too many sign-ins at once: try again in a moment",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(slots=True)
class _Count:
    failures: int
    first: float
    locked_until: float = 0.0


class PasswordGuard:
    """Bounds concurrent password checks and throttles failures by account and address."""

    def __init__(
        self,
        *,
        checks: int = 2,
        wait: float = 5.0,
        queue: int = 8,
        account_free: int = 5,
        address_free: int = 30,
        window: float = 15 * 60,
        longest_lock: float = 15 * 60,
        remembered: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checks = checks
        self.wait = wait
        self.queue = queue
        self._waiting = 0
        self.free = {"account": account_free, "address": address_free}
        self.window = window
        self.longest_lock = longest_lock
        self.remembered = remembered
        self.clock = clock
        self._slots = threading.BoundedSemaphore(checks)
        self._counts: dict[tuple[str, str], _Count] = {}
        self._lock = threading.Lock()

    async def attempt(self, *, account: str, address: str, check: Callable[[], T]) -> T:
        """``check()`` (a blocking password check, run in a worker thread) unless the
        account or address is locked out (:class:`Throttled`) or no slot frees up in time
        (:class:`Busy`). An :class:`InputError` from it counts as a failure and is re-raised."""
        keys = [("account", account.strip()[:MAX_KEY]), ("address", address[:MAX_KEY])]
        self._refuse_if_locked(keys)
        async with self.slot():
            self._refuse_if_locked(keys)  # others may have failed while this one waited
            try:
                result = await run_in_threadpool(check)
            except InputError:
                self._failed(keys)
                raise
        with self._lock:
            self._counts.pop(keys[0], None)
        return result

    async def hashing(self, work: Callable[[], T]) -> T:
        """``work`` (which hashes a password: sign-up) in a worker thread, in one of the
        slots, without counting failures: a taken name is no guess at a password."""
        async with self.slot():
            return await run_in_threadpool(work)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the few password-check slots (sign-up hashes a password too), waiting
        at most :attr:`wait` seconds, behind at most :attr:`queue` others: a flood is told
        503 at once rather than piling up waiters. Polled rather than awaited on an asyncio
        primitive, so it works from any event loop and no thread blocks while waiting."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.queue:
                    raise Busy()
                self._waiting += 1
            try:
                deadline = self.clock() + self.wait
                pause = 0.005
                while not self._slots.acquire(blocking=False):
                    if self.clock() >= deadline:
                        raise Busy()
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.05)  # a few wake-ups a second per waiter
            finally:
                with self._lock:
                    self._waiting -= 1
        try:
            yield  # a check run in a thread is waited for even if the client goes away
        finally:
            self._slots.release()

    def _refuse_if_locked(self, keys: list[tuple[str, str]]) -> None:
        now = self.clock()
        with self._lock:
            left = max(
                (c.locked_until - now for k in keys if (c := self._counts.get(k))), default=0.0
            )
        if left > 0:
            raise Throttled(math.ceil(left))

    def _failed(self, keys: list[tuple[str, str]]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                count = self._counts.get(key)
                if count is None or self._stale(count, now):
                    count = self._counts[key] = _Count(0, now)
                count.failures += 1
                over = count.failures - self.free[key[0]]
                if over > 0:
                    count.locked_until = now + min(2.0 ** (over - 1), self.longest_lock)
            self._forget_old(now)

    def _stale(self, count: _Count, now: float) -> bool:
        """Counted long enough ago, and not locked: it starts again from nothing."""
        return now - count.first > self.window and count.locked_until < now

    def _forget_old(self, now: float) -> None:
        """Keep memory bounded under a flood of made-up names: drop stale counts, then the
        oldest."""
        if len(self._counts) <= self.remembered:
            return
        for key, count in list(self._counts.items()):
            if self._stale(count, now):
                del self._counts[key]
        while len(self._counts) > self.remembered:
            del self._counts[next(iter(self._counts))]


def client_address(request: Request) -> str:
    """The peer's address (a proxy's, behind one)."""
    return request.client.host if request.client else "unknown"


def guard(request: Request) -> PasswordGuard:
    return request.app.state.password_guard


def _wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


async def found_or_none(
    request: Request, *, account: str, find: Callable[[], T | None]
) -> T | None:
    """``find()`` (an app's key or password looked up, in a worker thread) under the
    password guard of ``account`` and the client's address: what it found, or None — a
    failure counted towards the lock-out, as a wrong web password is."""

    def check() -> T:
        found = find()
        if found is None:
            raise InputError(account, "not recognised")
        return found

    try:
        return await guard(request).attempt(
            account=account, address=client_address(request), check=check
        )
    except InputError:
        return None
