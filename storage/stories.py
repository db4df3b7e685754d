"""Story persistence: load candidate stories, record each report's place and additions."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsvigil.records import Event, utcnow
from processors.alerts import StoryEvent
from processors.stories import Report, StoryState, absorb, additions, choose_story, figure_key, names, signature
from storage.models import StoryArticle, StoryRow


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


def _candidates(session: Session, since, until) -> dict[int, StoryState]:
    stories: dict[int, StoryState] = {}
    rows = session.execute(
        select(StoryRow, StoryArticle).join(StoryArticle, StoryArticle.story_id == StoryRow.id)
        .where(StoryRow.last_seen >= since, StoryRow.first_seen <= until)
    ).all()
    for story, member in rows:
        state = stories.get(story.id)
        if state is None:
            last_seen = story.last_seen if story.last_seen.tzinfo else story.last_seen.replace(tzinfo=since.tzinfo)
            state = stories[story.id] = StoryState(story.id, set(story.topics.split(",")), last_seen)
        figures = frozenset(tuple(f) for f in json.loads(member.figures))
        state.sources.add(member.source)
        if member.language:
            state.languages.add(member.language)
        state.figures |= figures
        state.members.append((np.frombuffer(member.signature, dtype=np.uint64), frozenset(json.loads(member.entities)), figures))
    return stories


def assign_stories(session: Session, events: Sequence[Event], window: timedelta) -> list[StoryEvent]:
    """Put each new event in a story (existing or new); return what each one adds, in order."""
    if not events:
        return []
    reports = [report_of(e) for e in events]
    times = [r.published for r in reports]
    stories = _candidates(session, min(times) - window, max(times) + window)
    titles: dict[int, str] = {}
    out: list[StoryEvent] = []
    now = utcnow()
    for event, report in sorted(zip(events, reports), key=lambda pair: pair[1].published):
        story = choose_story(report, list(stories.values()), window)
        adds = additions(report, story)
        if story is None:
            row = StoryRow(title=report.title, topics=",".join(sorted(report.topics)), first_seen=report.published,
                           last_seen=report.published, article_count=1)
            session.add(row)
            session.flush()
            story = stories[row.id] = StoryState(row.id, set(report.topics), report.published)
            titles[row.id] = row.title
        else:
            row = session.get(StoryRow, story.id)
            row.article_count += 1
            row.last_seen = max(_aware(row.last_seen, report), report.published)
            row.topics = ",".join(sorted(set(row.topics.split(",")) | report.topics))
            titles[story.id] = row.title
        absorb(story, report)
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


def _aware(value, report: Report):
    return value if value.tzinfo else value.replace(tzinfo=report.published.tzinfo)
