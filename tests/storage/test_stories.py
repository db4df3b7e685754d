"""Story persistence on SQLite and PostgreSQL: a story's latest members, read by index."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from newsvigil.records import Detection
from newsvigil.storage.repositories import save_detections
from newsvigil.storage.stories import StorySummary, new_story, recent_members, save_placements
from tests.storage.test_repositories import article


def member(n: int, story_id: int, joined_at: datetime) -> dict:
    return {
        "article_id": f"a{n}",
        "story_id": story_id,
        "signature": np.full(4, n, dtype=np.uint64).tobytes(),
        "source": "F",
        "language": "en",
        "figures": json.dumps([[n, n]]),
        "entities": json.dumps([f"name{n}"]),
        "additions": "{}",
        "joined_at": joined_at,
    }


def test_recent_members_are_each_storys_latest_newest_first_ties_by_article_id(sessions):
    """Members join in batches that share one joined_at: the latest `limit` of each story are the
    newest batches', ties broken by article id, as the ranking window function chose them."""
    start = datetime(2026, 11, 20, tzinfo=UTC)
    articles = [article(1, id=f"a{n}") for n in range(70)]
    with sessions.begin() as s:
        save_detections(s, [(a, Detection(a.id, "en", ["nato"], [], "v1")) for a in articles])
        big, small, other = (new_story(s, f"story {i}", ["nato"], start).id for i in range(3))
        # big: 50 members in 5 batches of 10 (ids interleaved so that id order is not join order)
        rows = [member(n, big, start + timedelta(minutes=n % 5)) for n in range(50)]
        rows += [member(50 + n, small, start + timedelta(minutes=n)) for n in range(5)]
        rows += [member(60 + n, other, start) for n in range(10)]
        save_placements(
            s,
            [StorySummary(i, 1, start, ["nato"], [], [], []) for i in (big, small, other)],
            [],
            rows,
        )
    expected = {
        story: [
            r["article_id"]
            for r in sorted(
                (r for r in rows if r["story_id"] == story),
                key=lambda r: (-r["joined_at"].timestamp(), r["article_id"]),
            )[:20]
        ]
        for story in (big, small, other)
    }
    with sessions() as s:
        found = list(recent_members(s, [other, big, small, 9999], 20))
    assert [m.story_id for m in found] == sorted(m.story_id for m in found)  # stories in id order
    by_story: dict[int, list[str]] = {}
    for m in found:
        by_story.setdefault(m.story_id, []).append(f"a{int(np.frombuffer(m.signature, dtype=np.uint64)[0])}")
        n = int(np.frombuffer(m.signature, dtype=np.uint64)[0])
        assert m.names == frozenset({f"name{n}"}) and m.figures == frozenset({(n, n)})
    assert by_story == expected
    assert len(by_story[big]) == 20 and len(by_story[small]) == 5 and len(by_story[other]) == 10
    with sessions() as s:
        assert list(recent_members(s, [], 20)) == []
