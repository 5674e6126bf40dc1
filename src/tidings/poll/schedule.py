"""When to poll a source next: pure arithmetic, no I/O.

- A source that publishes often is polled often: the interval is the mean spacing of its
  newest entries' publication times, bounded to [10 min, 24 h] (1 h while unknown).
- Each consecutive error doubles the wait (from the interval), up to 24 h.
- A Retry-After header (seconds or an HTTP date) and the statuses that ask a client to
  slow down (429, 503) push the next poll at least that far (Retry-After at most 7 days).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

MIN_INTERVAL = 10 * 60
MAX_INTERVAL = 24 * 60 * 60
DEFAULT_INTERVAL = 60 * 60
MAX_BACKOFF = 24 * 60 * 60
MAX_RETRY_AFTER = 7 * 24 * 60 * 60
SLOW_DOWN = (429, 503)  # "too many requests", "unavailable": wait at least an hour
SLOW_DOWN_SECONDS = 60 * 60
NEWEST_ENTRIES = 20  # how many of the newest entries the publishing rate is taken from
CLOCK_SKEW = timedelta(hours=1)  # entries dated later than this are ignored


def clamp(seconds: float, low: float = MIN_INTERVAL, high: float = MAX_INTERVAL) -> int:
    return int(min(max(seconds, low), high))


def publishing_rate(published: Iterable[datetime | None], now: datetime) -> float | None:
    """Entries per day, from the newest entries' publication times up to ``now``, or None
    when fewer than two are dated. Counting up to now (not up to the newest entry) makes a
    feed that has gone quiet look as slow as it has become."""
    times = sorted(
        (t if t.tzinfo else t.replace(tzinfo=UTC) for t in published if t is not None),
        reverse=True,
    )
    times = [t for t in times if t <= now + CLOCK_SKEW][:NEWEST_ENTRIES]
    if len(times) < 2:
        return None
    # n - 1 gaps from the oldest to now: the open gap since the newest counts too
    span = max((now - times[-1]).total_seconds(), 60.0)
    return (len(times) - 1) / span * 86400


def adapted_interval(items_per_day: float | None, current: int = DEFAULT_INTERVAL) -> int:
    """Poll about once per expected new entry, within bounds; ``current`` while unknown."""
    if not items_per_day:
        return clamp(current)
    return clamp(86400 / items_per_day)


def backoff(interval: int, errors: int) -> int:
    """Seconds to wait after ``errors`` consecutive errors: the interval doubled per error,
    at most 24 h (never less than the interval itself)."""
    if errors <= 0:
        return clamp(interval)
    return int(min(max(interval, MIN_INTERVAL) * 2 ** min(errors, 32), MAX_BACKOFF))


def retry_after_seconds(value: str | None, now: datetime) -> int | None:
    """A Retry-After header as seconds from ``now`` (None if absent or unreadable); an HTTP
    date in the past is 0. At most 7 days."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(int(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(min(max((when - now).total_seconds(), 0), MAX_RETRY_AFTER))


def after_error(
    now: datetime,
    *,
    interval: int,
    errors: int,
    status: int | None = None,
    retry_after: str | None = None,
) -> datetime:
    """When to try again after the ``errors``-th consecutive error (counting this one)."""
    wait = backoff(interval, errors)
    if status in SLOW_DOWN:
        wait = max(wait, SLOW_DOWN_SECONDS)
    asked = retry_after_seconds(retry_after, now)
    if asked is not None:
        wait = max(wait, asked)
    return now + timedelta(seconds=wait)


def after_success(now: datetime, interval: int, *, jitter: float = 0.0) -> datetime:
    """When to poll next after an answer (new or 304). ``jitter`` (a fraction, e.g. 0.05)
    spreads sources added together so that they do not all fall due in the same second."""
    spread = interval * jitter * random.random() if jitter else 0.0
    return now + timedelta(seconds=interval + spread)


def success_values(
    now: datetime, status: int, interval: int, *, jitter: float = 0.0
) -> dict[str, Any]:
    """The ``sources`` columns after a poll that answered (new or 304)."""
    return {
        "last_polled_at": now,
        "last_status": status,
        "last_success_at": now,
        "errors": 0,
        "interval_seconds": interval,
        "next_poll_at": after_success(now, interval, jitter=jitter),
    }
