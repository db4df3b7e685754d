"""Story persistence: stories sharing lookup keys, their latest members, and saving placements.

Storage only loads and saves; which story a report joins is decided in
newsvigil.processors.story_assignment.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, Table, bindparam, insert, select, union_all, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from newsvigil.batching import batched
from newsvigil.storage.models import StoryArticle, StoryKey, StoryRow
from newsvigil.storage.repositories import upsert

STORIES_PER_QUERY = 100  # per-story subqueries in one UNION ALL (SQLite allows 500 terms in a compound SELECT)


_STORIES = typing.cast(Table, StoryRow.__table__)
_KEYS = typing.cast(Table, StoryKey.__table__)

# Statements run for every stored batch, built once, on the tables (no ORM object is made or kept:
# a story's row is read and written here only).
_STORIES_BY_KEY = (
    select(_KEYS.c.key, _KEYS.c.story_id)
    .join(_STORIES, _STORIES.c.id == _KEYS.c.story_id)
    .where(
        _KEYS.c.key.in_(bindparam("keys", expanding=True)),
        _STORIES.c.last_seen >= bindparam("since"),
        _STORIES.c.first_seen <= bindparam("until"),
    )
)
_OPEN_STORIES = select(_STORIES).where(
    _STORIES.c.id.in_(bindparam("ids", expanding=True)),
    _STORIES.c.last_seen >= bindparam("since"),
    _STORIES.c.first_seen <= bindparam("until"),
)
_NEW_STORY = insert(_STORIES).returning(_STORIES.c.id)
# A story's aggregates after a batch (the parameters are named apart from the columns, as an UPDATE's
# SET clause takes the column names for itself).
_SAVE_STORY = (
    update(_STORIES)
    .where(_STORIES.c.id == bindparam("story_id"))
    .values(
        article_count=_STORIES.c.article_count + bindparam("added"),
        last_seen=bindparam("seen"),
        topics=bindparam("topics_text"),
        sources=bindparam("sources_json"),
        languages=bindparam("languages_json"),
        figures=bindparam("figures_json"),
    )
)


def stories_by_key(session: Session, keys: Iterable[str], since: datetime, until: datetime) -> dict[str, list[int]]:
    """The stories seen within [since, until] stored under each of these lookup keys: a coarse key
    (a place and actor) is shared by stories of years, and only those of the window can be joined."""
    found: dict[str, list[int]] = {}
    for chunk in batched(sorted(set(keys))):
        for key, story_id in session.execute(_STORIES_BY_KEY, {"keys": chunk, "since": since, "until": until}):
            found.setdefault(key, []).append(story_id)
    return found


def open_stories(session: Session, ids: Iterable[int], since: datetime, until: datetime) -> list[Row[Any]]:
    """The rows of those of the stories `ids` seen within [since, until]."""
    wanted = sorted(ids)
    if not wanted:
        return []
    found: list[Row[Any]] = []
    for chunk in batched(wanted):
        found += session.execute(_OPEN_STORIES, {"ids": chunk, "since": since, "until": until})
    return found


# A figure with what cross-language matching needs: (low, high, approx, place, actor).
FigureDetail = tuple[float, float, bool, str | None, str | None]


@dataclass(frozen=True, slots=True)
class StoredMember:
    """One report of a story as clustering compares it: MinHash signature, names, figures, language,
    and the figures stored with their place and actor."""

    story_id: int
    signature: bytes
    names: frozenset[str]
    figures: frozenset[tuple[float, float]]
    language: str | None = None
    details: frozenset[FigureDetail] = frozenset()


def figures_json(details: Iterable[FigureDetail]) -> str:
    """A member's figures as stored in story_articles.figures: [low, high] each, followed by approx,
    place and actor when place or actor is known (rows written before these were stored hold only
    [low, high], and read the same)."""
    entries = sorted(
        {
            (low, high) if place is None and actor is None else (low, high, approx, place, actor)
            for low, high, approx, place, actor in details
        },
        key=lambda e: (e[0], e[1], str(e[2:])),
    )
    return json.dumps([list(e) for e in entries])


def read_figures(text: str) -> tuple[frozenset[tuple[float, float]], frozenset[FigureDetail]]:
    """A member's figures and those stored with their details, from story_articles.figures."""
    entries = json.loads(text)
    figures = frozenset((e[0], e[1]) for e in entries)
    details = frozenset((e[0], e[1], bool(e[2]), e[3], e[4]) for e in entries if len(e) == 5)
    return figures, details


def recent_members(session: Session, story_ids: Iterable[int], limit: int) -> Iterator[StoredMember]:
    """The latest `limit` members of each story (by joined_at, then article id), newest first, stories in
    id order.

    Each story's members are read by index (ix_story_articles_recent: story_id, joined_at DESC,
    article_id), `limit` rows per story, one UNION ALL per chunk of stories: what a batch costs no
    longer grows with the size of the stories it touches (ranking every member of a story with a
    window function did, and a big story made every batch slower). SQLite has no LATERAL join;
    a UNION ALL of per-story LIMIT queries is read the same way by both databases.
    """
    wanted = sorted(set(story_ids))
    for chunk in batched(wanted, STORIES_PER_QUERY):
        rows = session.execute(_latest_members(len(chunk), limit), {f"story_{i}": s for i, s in enumerate(chunk)})
        for story_id, signature, entities, figures_text, language in rows:
            figures, details = read_figures(figures_text)
            yield StoredMember(story_id, signature, frozenset(json.loads(entities)), figures, language, details)


_MEMBERS = typing.cast(Table, StoryArticle.__table__)


@functools.cache
def _latest_members(stories: int, limit: int) -> Select[Any]:
    """The statement of `recent_members` for a chunk of `stories` stories (parameters story_0...),
    built once for each size: building it, and its cache key, cost more than running it."""
    m = _MEMBERS.c
    columns = (m.story_id, m.joined_at, m.article_id, m.signature, m.entities, m.figures, m.language)
    latest = [
        select(*columns)
        .where(m.story_id == bindparam(f"story_{i}"))
        .order_by(m.joined_at.desc(), m.article_id)
        .limit(limit)
        .subquery()
        for i in range(stories)
    ]
    parts = [select(*part.c) for part in latest]
    union = parts[0] if len(parts) == 1 else union_all(*parts)
    ordered = union.subquery()
    return select(
        ordered.c.story_id, ordered.c.signature, ordered.c.entities, ordered.c.figures, ordered.c.language
    ).order_by(ordered.c.story_id, ordered.c.joined_at.desc(), ordered.c.article_id)


def new_story(session: Session, title: str, topics: Iterable[str], first_seen: datetime) -> int:
    """A new, empty story row; its id."""
    story_id: int = session.scalars(
        _NEW_STORY,
        {
            "title": title,
            "topics": ",".join(sorted(topics)),
            "first_seen": first_seen,
            "last_seen": first_seen,
            "article_count": 0,
            "sources": "[]",
            "languages": "[]",
            "figures": "[]",
        },
    ).one()
    return story_id


@dataclass(frozen=True, slots=True)
class StorySummary:
    """A story's aggregates after a batch of reports joined it."""

    id: int
    added: int
    last_seen: datetime
    topics: Sequence[str]
    sources: Sequence[str]
    languages: Sequence[str]
    figures: Sequence[tuple[float, float]]


def save_placements(
    session: Session,
    stories: Sequence[StorySummary],
    keys: Sequence[tuple[str, int]],
    members: Sequence[dict[str, Any]],
) -> None:
    """Write story aggregates once per story, then new (key, story) pairs and the member rows."""
    if stories:
        result = session.execute(
            _SAVE_STORY,
            [
                {
                    "story_id": summary.id,
                    "added": summary.added,
                    "seen": summary.last_seen,
                    "topics_text": ",".join(sorted(summary.topics)),
                    "sources_json": json.dumps(sorted(summary.sources)),
                    "languages_json": json.dumps(sorted(summary.languages)),
                    "figures_json": json.dumps(sorted(summary.figures)),
                }
                for summary in stories
            ],
        )
        changed = typing.cast(CursorResult[Any], result).rowcount
        if session.get_bind().dialect.supports_sane_multi_rowcount:
            assert changed == len(stories), f"{len(stories) - changed} stories vanished within their transaction"
    upsert(session, StoryKey, [{"key": key, "story_id": story_id} for key, story_id in keys], ["key", "story_id"])
    upsert(session, StoryArticle, list(members), ["article_id"])


def memberships(session: Session, article_ids: Iterable[str]) -> Iterator[tuple[StoryArticle, StoryRow]]:
    """(member row, story row) of each of these articles already placed in a story."""
    for chunk in batched(sorted(article_ids)):
        yield from session.execute(
            select(StoryArticle, StoryRow)
            .join(StoryRow, StoryRow.id == StoryArticle.story_id)
            .where(StoryArticle.article_id.in_(chunk))
        ).tuples()
