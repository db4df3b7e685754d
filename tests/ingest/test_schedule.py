"""When feeds are polled next: freshness headers, <ttl>, Retry-After, backoff with jitter, host backoff."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from newsvigil.ingest.schedule import (
    FEED_JITTER,
    HostBackoff,
    Intervals,
    freshness,
    next_delay,
    parse_retry_after,
    retry_delay,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
IV = Intervals(base=300, minimum=60, maximum=6 * 3600)


def delay(errors=0, status=200, headers=None, ttl=None, seed=1):
    return next_delay(
        IV, errors=errors, status=status, headers=headers or {}, ttl_minutes=ttl, now=NOW, rng=random.Random(seed)
    )


@pytest.mark.parametrize(
    "headers, ttl, expected",
    [
        ({}, None, None),
        ({"cache-control": "public, max-age=900"}, None, 900),
        ({"cache-control": "s-maxage=1200, max-age=60"}, None, 1200),
        (
            {"expires": "Thu, 26 Nov 2026 13:00:00 GMT", "date": "Thu, 26 Nov 2026 12:30:00 GMT"},
            None,
            1800,
        ),  # server clock
        ({"expires": "0"}, None, None),  # an invalid date means "already expired"
        ({"cache-control": "no-cache", "expires": "Thu, 26 Nov 2026 14:00:00 GMT"}, None, None),
        ({"cache-control": "max-age=600"}, 30, 1800),  # <ttl> 30 minutes is the larger
    ],
)
def test_freshness(headers, ttl, expected):
    assert freshness(headers, ttl, NOW) == expected


def test_retry_after_seconds_or_date():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(" 30 ", NOW) == 30
    assert parse_retry_after("Thu, 26 Nov 2026 12:10:00 GMT", NOW) == 600
    assert parse_retry_after("Thu, 26 Nov 2026 11:00:00 GMT", NOW) == 0  # a date already past: now
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("²", NOW) is None  # a digit to str.isdigit(), not to float()
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize("jitter, cap", [(FEED_JITTER, float("inf")), ((0.5, 1.5), 3600.0)])
def test_one_backoff_doubles_within_its_jitter_and_cap(jitter, cap):
    """The backoff feeds and alert delivery share; each caller says how it spreads out and where it stops."""
    low, high = jitter
    for failures in range(1, 12):
        for seed in range(20):
            delay = retry_delay(failures, 2.0, None, random.Random(seed), jitter=jitter, cap=cap)
            doubled = min(cap, 2.0 * 2 ** (failures - 1))
            assert doubled * low <= delay <= doubled * high
    assert len({retry_delay(3, 2.0, None, random.Random(s), jitter=jitter, cap=cap) for s in range(10)}) > 1
    assert retry_delay(10_000, 2.0, None, random.Random(1), jitter=jitter, cap=cap) > 0  # no overflow
    assert retry_delay(1, 2.0, 120.0, random.Random(1), jitter=jitter, cap=cap) == 120.0  # Retry-After wins


def test_interval_raised_by_freshness_never_lowered_and_clamped():
    assert delay() == 300
    assert delay(headers={"cache-control": "max-age=10"}) == 300  # the feed cannot make us poll faster
    assert delay(ttl=60) == 3600
    assert delay(ttl=60 * 24 * 7) == 6 * 3600  # clamped to the maximum


def test_errors_back_off_exponentially_with_jitter_up_to_the_maximum():
    first, second, third = (delay(errors=n, status=None) for n in (1, 2, 3))
    assert 300 <= first <= 450 and 600 <= second <= 900 and 1200 <= third <= 1800
    assert delay(errors=30, status=None) == 6 * 3600
    assert len({delay(errors=2, status=500, seed=s) for s in range(10)}) > 1  # feeds failing together spread out


def test_429_and_503_honour_retry_after():
    assert delay(errors=1, status=429, headers={"retry-after": "3600"}) == 3600
    assert delay(errors=1, status=503, headers={"retry-after": "Thu, 26 Nov 2026 14:00:00 GMT"}) == 7200


def test_a_host_backs_off_only_after_repeated_refusals():
    hosts = HostBackoff(after=3, intervals=IV)
    for _ in range(2):
        hosts.record("news.example", 429, {}, NOW)
    assert hosts.blocked("news.example", NOW) is None  # one feed refusing is that feed's problem
    hosts.record("news.example", 503, {"retry-after": "1800"}, NOW)
    assert hosts.blocked("news.example", NOW) == NOW + timedelta(seconds=1800)
    assert hosts.blocked("other.example", NOW) is None
    assert hosts.blocked("news.example", NOW + timedelta(seconds=1801)) is None
    hosts.record("news.example", 200, {}, NOW)
    hosts.record("news.example", 429, {}, NOW)
    assert hosts.blocked("news.example", NOW) is None  # a success reset the count
