"""When to poll a feed next: pure decisions over what the last poll said.

The base is the configured interval, raised (never lowered) by the feed's <ttl> and the response's
Cache-Control max-age or Expires, and by Retry-After; errors back off exponentially with jitter;
everything is clamped to [min, max]. A host answering 429/503 repeatedly backs off as a whole.

The Retry-After parser and the backoff are the project's only ones: alert delivery
(processors/delivery.py) retries with them too, with its own jitter and cap.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

REFUSALS = (429, 503)  # "too many requests", "unavailable": the server asks us to slow down
_RNG = random.Random()
# Backoff jitter: (low, high) bounds of the random factor retry_delay() multiplies the doubled delay by.
# Feeds: never sooner than the doubled interval, only later, so that feeds failing together spread out.
FEED_JITTER = (1.0, 1.5)
_MAX_DOUBLINGS = 64  # keeps 2**n a float; any cap is reached long before
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.I)


@dataclass(frozen=True, slots=True)
class Intervals:
    base: float  # seconds between polls of a healthy feed
    minimum: float
    maximum: float


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After value asks for (delta seconds, or an HTTP date: one past gives 0), or None
    when it is missing or unreadable."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    when = _http_date(value) if value else None
    return max(0.0, (when - now).total_seconds()) if when else None


def retry_delay(
    failures: int,
    base: float,
    retry_after: float | None,
    rng: random.Random,
    *,
    jitter: tuple[float, float],
    cap: float = math.inf,
) -> float:
    """Seconds until the next attempt after `failures` failures in a row (1 = the first): `base`,
    doubled for each further failure and at most `cap`, times a random factor between the `jitter`
    bounds; never sooner than `retry_after` (seconds the server asked for)."""
    doubled = base * 2.0 ** min(max(0, failures - 1), _MAX_DOUBLINGS)
    return max(min(cap, doubled) * rng.uniform(*jitter), retry_after or 0.0)


def freshness(headers: Mapping[str, str], ttl_minutes: float | None, now: datetime) -> float | None:
    """How long the response says it stays fresh: the largest of max-age, Expires and <ttl>."""
    candidates = []
    control = headers.get("cache-control") or ""
    if match := _MAX_AGE.search(control):
        candidates.append(float(match.group(1)))
    elif "no-cache" not in control.lower() and (expires := _http_date(headers.get("expires") or "")):
        served = _http_date(headers.get("date") or "") or now  # Expires is relative to the server's clock
        candidates.append((expires - served).total_seconds())
    if ttl_minutes and ttl_minutes > 0:
        candidates.append(ttl_minutes * 60)
    return max(candidates) if candidates else None


def next_delay(
    intervals: Intervals,
    *,
    errors: int,
    status: int | None,
    headers: Mapping[str, str],
    ttl_minutes: float | None,
    now: datetime,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next poll of a feed whose last poll gave `status` (`errors` failures in a row)."""
    asked = parse_retry_after(headers.get("retry-after"), now) if status in REFUSALS or errors else None
    if errors:
        delay = retry_delay(errors, intervals.base, asked, rng or _RNG, jitter=FEED_JITTER)
    else:
        delay = max(intervals.base, asked or 0.0, freshness(headers, ttl_minutes, now) or 0.0)
    return min(max(delay, intervals.minimum), intervals.maximum)


@dataclass
class HostBackoff:
    """Hosts that refused (429/503) `after` times in a row stop being polled for a while."""

    after: int
    intervals: Intervals
    refusals: dict[str, int] = field(default_factory=dict)
    until: dict[str, datetime] = field(default_factory=dict)

    def record(
        self, host: str, status: int | None, headers: Mapping[str, str], now: datetime, rng: random.Random | None = None
    ) -> None:
        """Count a host's refusals; the `after`-th in a row blocks the host (longer each time)."""
        if status not in REFUSALS:
            self.refusals.pop(host, None)
            return
        count = self.refusals[host] = self.refusals.get(host, 0) + 1
        if count >= self.after:
            delay = next_delay(
                self.intervals,
                errors=count - self.after + 1,
                status=status,
                headers=headers,
                ttl_minutes=None,
                now=now,
                rng=rng,
            )
            self.until[host] = now + timedelta(seconds=delay)

    def blocked(self, host: str, now: datetime) -> datetime | None:
        """Until when `host` is not to be polled, or None."""
        until = self.until.get(host)
        if until and until > now:
            return until
        self.until.pop(host, None)
        return None
