"""An outage of a dependency (the database, the broker), told once: one line when it starts, one when
it ends, and capped, jittered waits in between. A loop that meets the same error every half second
must not write 1,900 lines in 23 s."""

from __future__ import annotations

import logging
import random
import time


class Outage:
    """The state of one dependency as the code that uses it sees it."""

    def __init__(self, name: str, log: logging.Logger, *, first_wait: float = 0.5, max_wait: float = 30.0,
                 rng: random.Random | None = None) -> None:
        self.name = name
        self.log = log
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.rng = rng or random.Random()
        self.since: float | None = None  # monotonic time the outage began; None while all is well
        self.failures = 0  # failures in a row
        self.outages = 0  # outages seen (for /metrics)

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failure; returns how long to wait before trying again (doubling, capped, jittered)."""
        if self.since is None:
            self.since = time.monotonic()
            self.outages += 1
            reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            self.log.error("%s unavailable (%s: %s); retrying with backoff", self.name, exc.__class__.__name__, reason)
        self.failures += 1
        wait = min(self.max_wait, self.first_wait * 2 ** min(self.failures - 1, 16))
        return wait * self.rng.uniform(0.8, 1.2)

    def ok(self) -> None:
        """Record a success: ends the outage, in one line, if there was one."""
        if self.since is not None:
            # Same level as the start: whoever saw the outage begin must see it end.
            self.log.error("%s available again after %.0f s (%d failed attempts)", self.name,
                             time.monotonic() - self.since, self.failures)
        self.since = None
        self.failures = 0
