"""Polling the sources: each on its own schedule, shared by any number of workers.

- :mod:`tidings.poll.schedule`: the arithmetic of intervals, backoff and Retry-After.
- :mod:`tidings.poll.leases`: claiming due sources (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL) under a lease that expires if its worker dies, and recording the outcome.
- :mod:`tidings.poll.poller`: the loop, with a few fetches at once and a per-host limit.
- :mod:`tidings.poll.polled`: storing what a poll brought (parse, full text, save).

The poller depends on the ingest and store layers only, never on :mod:`tidings.library`
(which builds pollers over its store).
"""

from __future__ import annotations

from tidings.poll.poller import Poller, PollReport, SourceOutcome

__all__ = ["PollReport", "Poller", "SourceOutcome"]
