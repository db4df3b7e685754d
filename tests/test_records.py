"""The plain records: what `bounded` makes of an item before anything stores it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsvigil.records import Article, bounded

FETCHED = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _item(published: datetime | None) -> Article:
    return Article(
        id="a",
        feed_url="https://f.example/rss",
        source="F",
        title="t",
        summary="",
        published=published,
        fetched_at=FETCHED,
    )


def test_a_publication_time_is_never_after_the_fetch():
    earlier = FETCHED - timedelta(hours=3)
    assert bounded(_item(earlier)).published == earlier
    # A feed writing local time (UTC+10) as UTC: placed at the fetch, not ten hours ahead of every
    # other report (where it would be the newest of its topic and its figure series).
    assert bounded(_item(FETCHED + timedelta(hours=10))).published == FETCHED
    assert bounded(_item(FETCHED + timedelta(days=2))).published is None  # no publication date at all
    assert bounded(_item(None)).published is None
    assert bounded(_item(FETCHED + timedelta(hours=10))).when == FETCHED
