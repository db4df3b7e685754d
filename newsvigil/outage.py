"""An outage of a dependency (the database, the broker), told once: one line when it starts, one when
it ends, and capped, jittered waits in between. A loop that meets the same error every half second
must not write 1,900 lines in 23 s."""

from __future__ import annotations

import logging
import random
import time


def first_line(exc: BaseException) -> str:
    """An error's first line (its class name when it has no text): a driver's message goes on with SQL
    and a link, which say nothing in a log line."""
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


class Outage:
    """The state of one dependency as the code that uses it sees it."""

    def __init__(
        self,
        name: str,
        log: logging.Logger,
        *,
        first_wait: float = 0.5,
        max_wait: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
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
            self.log.error(
                "%s unavailable (%s: %s); retrying with backoff", self.name, exc.__class__.__name__, first_line(exc)
            )
        self.failures += 1
        wait = min(self.max_wait, self.first_wait * 2 ** min(self.failures - 1, 16))
        return wait * self.rng.uniform(0.8, 1.2)

    def ok(self) -> None:
        """Record a success: ends the outage, in one line, if there was one."""
        if self.since is not None:
            # Same level as the start: whoever saw the outage begin must see it end.
            self.log.error(
                "%s available again after %.0f s (%d failed attempts)",
                self.name,
                time.monotonic() - self.since,
                self.failures,
            )
        self.since = None
        self.failures = 0


class RepeatSummary(logging.Filter):
    """Lets the first of a run of like messages through (same logger, same message pattern), then
    at most one every `window` seconds saying how many were held back: a broker outage made the
    Kafka client write ~2,000 lines in 20 s."""

    def __init__(self, window: float = 30.0) -> None:
        super().__init__()
        self.window = window
        self.last: dict[tuple[str, str], float] = {}
        self.held: dict[tuple[str, str], int] = {}
        self.suppressed = 0  # for /metrics

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last = self.last.get(key)
        if last is not None and now - last < self.window:
            self.held[key] = self.held.get(key, 0) + 1
            self.suppressed += 1
            return False
        self.last[key] = now
        held = self.held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} ({held} like messages in the last {self.window:.0f} s not shown)"
        return True


def summarise_repeats(prefixes: tuple[str, ...], window: float = 30.0) -> RepeatSummary:
    """Attach one RepeatSummary to every logger under `prefixes` (a logger's filters see only its own
    records, so each module's logger gets it)."""
    summary = RepeatSummary(window)
    names = [n for n in list(logging.root.manager.loggerDict) if n.startswith(prefixes)]
    for name in names + list(prefixes):
        logging.getLogger(name).addFilter(summary)
    return summary
