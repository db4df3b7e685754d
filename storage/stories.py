"""Story persistence: load candidate stories, record each report's place and additions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsvigil.processors.alerts import StoryEvent
from newsvigil.processors.stories import (
    Additions,
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
from newsvigil.records import Event, TroopMention, parse_time, utcnow
from newsvigil.storage.models import StoryArticle, StoryKey, StoryRow
from newsvigil.storage.repositories import upsert


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


def _candidate_ids(session: Session, keys: dict[str, list[str]]) -> tuple[set[int], set[tuple[str, int]]]:
    """For each report, the stories sharing most lookup keys with it (bounded per report); and the
    (key, story) pairs already stored, which need no second write."""
    all_keys = sorted({k for ks in keys.values() for k in ks})
    stories_by_key: dict[str, list[int]] = {}
    for i in range(0, len(all_keys), 500):
        for key, story_id in session.execute(
            select(StoryKey.key, StoryKey.story_id).where(StoryKey.key.in_(all_keys[i : i + 500]))
        ):
            stories_by_key.setdefault(key, []).append(story_id)
    ids: set[int] = set()
    for report_keys in keys.values():
        shared: dict[int, int] = {}
        for key in report_keys:
            for story_id in stories_by_key.get(key, ()):
                shared[story_id] = shared.get(story_id, 0) + 1
        ids.update(sorted(shared, key=lambda sid: (-shared[sid], -sid))[:MAX_CANDIDATES])
    return ids, {(key, story_id) for key, story_ids in stories_by_key.items() for story_id in story_ids}


def _candidates(session: Session, ids: set[int], since, until) -> dict[int, StoryState]:
    """Load the state of candidate stories that are open in the window."""
    stories: dict[int, StoryState] = {}
    if not ids:
        return stories
    for story in session.scalars(
        select(StoryRow).where(StoryRow.id.in_(sorted(ids)), StoryRow.last_seen >= since, StoryRow.first_seen <= until)
    ):
        stories[story.id] = StoryState(
            story.id,
            set(story.topics.split(",")),
            parse_time(story.last_seen),
            set(json.loads(story.sources)),
            set(json.loads(story.languages)),
            {tuple(f) for f in json.loads(story.figures)},
        )
    if not stories:
        return stories
    rank = (
        func.row_number()
        .over(partition_by=StoryArticle.story_id, order_by=(StoryArticle.joined_at.desc(), StoryArticle.article_id))
        .label("rank")
    )
    recent = (
        select(StoryArticle.story_id, StoryArticle.signature, StoryArticle.entities, StoryArticle.figures, rank)
        .where(StoryArticle.story_id.in_(sorted(stories)))
        .subquery()
    )
    members = session.execute(
        select(recent.c.story_id, recent.c.signature, recent.c.entities, recent.c.figures).where(
            recent.c.rank <= RECENT_MEMBERS
        )
    )
    for story_id, sig, entities, figures in members:
        stories[story_id].members.append(
            (
                np.frombuffer(sig, dtype=np.uint64),
                frozenset(json.loads(entities)),
                frozenset(tuple(f) for f in json.loads(figures)),
            )
        )
    return stories


def assign_stories(session: Session, events: Sequence[Event], window: timedelta) -> list[StoryEvent]:
    """Put each new event in a story (existing or new); return what each one adds, in order."""
    if not events:
        return []
    reports = [report_of(e) for e in events]
    times = [r.published for r in reports]
    keys = {r.article_id: lookup_keys(r.signature, r.figures) for r in reports}
    candidate_ids, stored_keys = _candidate_ids(session, keys)
    stories = _candidates(session, candidate_ids, min(times) - window, max(times) + window)
    titles: dict[int, str] = {}
    out: list[StoryEvent] = []
    key_rows: list[dict] = []
    member_rows: list[dict] = []
    rows: dict[int, StoryRow] = {}
    now = utcnow()
    for event, report in sorted(zip(events, reports, strict=False), key=lambda pair: pair[1].published):
        story = choose_story(report, list(stories.values()), window)
        adds = additions(report, story)
        if story is None:
            row = StoryRow(
                title=report.title,
                topics=",".join(sorted(report.topics)),
                first_seen=report.published,
                last_seen=report.published,
                article_count=0,
                sources="[]",
                languages="[]",
                figures="[]",
            )
            session.add(row)
            session.flush()
            story = stories[row.id] = StoryState(row.id, set(report.topics), report.published)
        rows[story.id] = row = rows.get(story.id) or session.get(StoryRow, story.id)
        row.article_count += 1
        titles[story.id] = row.title
        absorb(story, report, RECENT_MEMBERS)
        for key in keys[report.article_id]:
            if (key, story.id) not in stored_keys:
                stored_keys.add((key, story.id))
                key_rows.append({"key": key, "story_id": story.id})
        member_rows.append(
            {
                "article_id": report.article_id,
                "story_id": story.id,
                "signature": report.signature.tobytes(),
                "source": report.source,
                "language": report.language,
                "figures": json.dumps(sorted({figure_key(m) for m in report.figures})),
                "entities": json.dumps(sorted(report.names)),
                "additions": json.dumps(adds.to_json()),
                "joined_at": now,
            }
        )
        out.append(
            StoryEvent(
                story.id,
                titles[story.id],
                sorted(story.topics),
                sorted(story.sources),
                sorted(story.languages),
                event,
                adds,
            )
        )
    for story_id, row in rows.items():  # aggregates written once per story, not once per report
        story = stories[story_id]
        row.last_seen, row.topics = story.last_seen, ",".join(sorted(story.topics))
        row.sources, row.languages = json.dumps(sorted(story.sources)), json.dumps(sorted(story.languages))
        row.figures = json.dumps(sorted(story.figures))
    session.flush()  # story rows first: keys and members refer to them
    upsert(session, StoryKey, key_rows, ["key", "story_id"])
    upsert(session, StoryArticle, member_rows, ["article_id"])
    return out


def stored_story_events(session: Session, events: Sequence[Event]) -> list[StoryEvent]:
    """The story events already recorded for these (known) reports, for alerting about history."""
    by_id = {e.article.id: e for e in events}
    out: list[StoryEvent] = []
    ids = sorted(by_id)
    for i in range(0, len(ids), 500):
        rows = session.execute(
            select(StoryArticle, StoryRow)
            .join(StoryRow, StoryRow.id == StoryArticle.story_id)
            .where(StoryArticle.article_id.in_(ids[i : i + 500]))
        )
        for member, story in rows:
            adds = json.loads(member.additions)
            out.append(
                StoryEvent(
                    story.id,
                    story.title,
                    story.topics.split(","),
                    json.loads(story.sources),
                    json.loads(story.languages),
                    by_id[member.article_id],
                    Additions(
                        adds["new_story"],
                        [TroopMention.from_json(m) for m in adds["new_figures"]],
                        adds["new_source"],
                        adds["new_language"],
                    ),
                )
            )
    return out
