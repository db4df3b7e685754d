"""Story persistence: load candidate stories, record each report's place and additions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Sequence

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsvigil.records import Event, utcnow
from processors.alerts import StoryEvent
from processors.stories import (
    Report,
    StoryState,
    absorb,
    additions,
    choose_story,
    figure_key,
    lookup_keys,
    names,
    signature,
)
from storage.models import StoryArticle, StoryKey, StoryRow
from storage.repositories import upsert


def report_of(event: Event) -> Report:
    """The clustering features of an event's article."""
    article = event.article
    return Report(
        article_id=article.id,
        title=article.title,
        topics=frozenset(event.detection.topics),
        published=article.published or article.fetched_at,
        source=article.source,
        language=event.detection.lang,
        figures=list(event.detection.troops),
        signature=signature(article.text),
        names=names(article.text),
    )


RECENT_MEMBERS = 20  # reports of a story compared with a newcomer: its latest ones
MAX_CANDIDATES = 50  # stories compared with a newcomer: those sharing the most lookup keys


def _candidate_ids(session: Session, keys: list[str]) -> list[int]:
    """The stories sharing most lookup keys with one report (bounded, whatever the archive's size)."""
    shared = func.count().label("shared")
    return list(session.scalars(
        select(StoryKey.story_id).where(StoryKey.key.in_(keys)).group_by(StoryKey.story_id)
        .order_by(shared.desc(), StoryKey.story_id.desc()).limit(MAX_CANDIDATES)
    ))


def _candidates(session: Session, ids: set[int], since, until) -> dict[int, StoryState]:
    """Load the state of candidate stories that are open in the window."""
    stories: dict[int, StoryState] = {}
    if not ids:
        return stories
    for story in session.scalars(select(StoryRow).where(StoryRow.id.in_(sorted(ids)), StoryRow.last_seen >= since,
                                                        StoryRow.first_seen <= until)):
        stories[story.id] = StoryState(
            story.id, set(story.topics.split(",")), _aware(story.last_seen, since),
            set(json.loads(story.sources)), set(json.loads(story.languages)),
            {tuple(f) for f in json.loads(story.figures)},
        )
    if not stories:
        return stories
    members = session.execute(
        select(StoryArticle.story_id, StoryArticle.signature, StoryArticle.entities, StoryArticle.figures)
        .where(StoryArticle.story_id.in_(sorted(stories))).order_by(StoryArticle.joined_at.desc())
    )
    for story_id, sig, entities, figures in members:
        state = stories[story_id]
        if len(state.members) < RECENT_MEMBERS:
            state.members.append((np.frombuffer(sig, dtype=np.uint64), frozenset(json.loads(entities)),
                                  frozenset(tuple(f) for f in json.loads(figures))))
    return stories


def assign_stories(session: Session, events: Sequence[Event], window: timedelta) -> list[StoryEvent]:
    """Put each new event in a story (existing or new); return what each one adds, in order."""
    if not events:
        return []
    reports = [report_of(e) for e in events]
    times = [r.published for r in reports]
    keys = {r.article_id: lookup_keys(r.signature, r.figures) for r in reports}
    ids = {i for r in reports for i in _candidate_ids(session, keys[r.article_id])}
    stories = _candidates(session, ids, min(times) - window, max(times) + window)
    titles: dict[int, str] = {}
    out: list[StoryEvent] = []
    now = utcnow()
    for event, report in sorted(zip(events, reports), key=lambda pair: pair[1].published):
        story = choose_story(report, list(stories.values()), window)
        adds = additions(report, story)
        if story is None:
            row = StoryRow(title=report.title, topics=",".join(sorted(report.topics)), first_seen=report.published,
                           last_seen=report.published, article_count=1, sources="[]", languages="[]", figures="[]")
            session.add(row)
            session.flush()
            story = stories[row.id] = StoryState(row.id, set(report.topics), report.published)
            titles[row.id] = row.title
        else:
            row = session.get(StoryRow, story.id)
            row.article_count += 1
            titles[story.id] = row.title
        absorb(story, report)
        row.last_seen = story.last_seen
        row.topics = ",".join(sorted(story.topics))
        row.sources, row.languages = json.dumps(sorted(story.sources)), json.dumps(sorted(story.languages))
        row.figures = json.dumps(sorted(story.figures))
        upsert(session, StoryKey, [{"key": k, "story_id": story.id} for k in keys[report.article_id]], ["key", "story_id"])
        session.add(StoryArticle(
            article_id=report.article_id, story_id=story.id, signature=report.signature.tobytes(),
            source=report.source, language=report.language,
            figures=json.dumps(sorted({figure_key(m) for m in report.figures})),
            entities=json.dumps(sorted(report.names)), additions=json.dumps(adds.to_json()), joined_at=now,
        ))
        out.append(StoryEvent(story.id, titles[story.id], sorted(story.topics), sorted(story.sources),
                              sorted(story.languages), event, adds))
    session.flush()
    return out


def _aware(value, reference):
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=reference.tzinfo)
