"""Placing a batch of new reports in stories: load the candidates, decide with the pure clustering
functions of newsvigil.processors.stories, save what changed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from newsvigil.processors.alerts import StoryEvent
from newsvigil.processors.stories import (
    Additions,
    FigureMark,
    Member,
    Report,
    StoryState,
    absorb,
    additions,
    choose_story,
    figure_mark,
    lookup_keys,
    names,
    signature,
)
from newsvigil.records import Event, TroopMention, parse_time, utcnow
from newsvigil.storage import stories as stored

RECENT_MEMBERS = 20  # reports of a story compared with a newcomer: its latest ones
MAX_CANDIDATES = 50  # stories compared with a newcomer: those sharing the most lookup keys


def report_of(event: Event) -> Report:
    """The clustering features of an event's article."""
    article = event.article
    return Report(
        article_id=article.id,
        title=article.title,
        topics=frozenset(event.detection.topics),
        published=article.when,
        source=article.source,
        language=event.detection.lang,
        figures=list(event.detection.troops),
        signature=text_signature(event),
        names=names(article.text),
    )


def text_signature(event: Event) -> np.ndarray:
    """The article's text signature: the one computed at detection when there is one."""
    if event.detection.text_signature is not None:
        return np.frombuffer(event.detection.text_signature, dtype=np.uint64)
    return signature(event.article.text)


def _best_candidates(keys: dict[str, list[str]], by_key: dict[str, list[int]]) -> set[int]:
    """For each report, the stories sharing most lookup keys with it (at most MAX_CANDIDATES each)."""
    ids: set[int] = set()
    for report_keys in keys.values():
        shared: dict[int, int] = {}
        for key in report_keys:
            for story_id in by_key.get(key, ()):
                shared[story_id] = shared.get(story_id, 0) + 1
        ids.update(sorted(shared, key=lambda sid: (-shared[sid], -sid))[:MAX_CANDIDATES])
    return ids


def _load_states(
    session: Session, ids: set[int], window: tuple[datetime, datetime]
) -> tuple[dict[int, StoryState], dict[int, str]]:
    """The candidate stories open in the window, with their latest members; and their titles."""
    rows = stored.open_stories(session, ids, *window)
    states = {
        row.id: StoryState(
            row.id,
            set(row.topics.split(",")),
            parse_time(row.last_seen),
            set(json.loads(row.sources)),
            set(json.loads(row.languages)),
            {tuple(f) for f in json.loads(row.figures)},
        )
        for row in rows
    }
    for member in stored.recent_members(session, states, RECENT_MEMBERS):
        states[member.story_id].members.append(
            Member(
                np.frombuffer(member.signature, dtype=np.uint64),
                member.names,
                member.figures,
                member.language,
                frozenset(FigureMark(*d) for d in member.details if d[3] and d[4]),
            )
        )
    return states, {row.id: row.title for row in rows}


def assign_stories(session: Session, events: Sequence[Event], window: timedelta) -> list[StoryEvent]:
    """Put each new event in a story (existing or new); return what each one adds, in time order."""
    if not events:
        return []
    reports = [report_of(e) for e in events]
    times = [r.published for r in reports]
    keys = {r.article_id: lookup_keys(r.signature, r.figures) for r in reports}
    # Only stories open in the batch's window can take its reports: neither the key lookup nor the
    # stories loaded reach further (the keys a report joins already stored are those of open stories).
    since, until = min(times) - window, max(times) + window
    by_key = stored.stories_by_key(session, (k for ks in keys.values() for k in ks), since, until)
    stored_keys = {(key, story_id) for key, story_ids in by_key.items() for story_id in story_ids}
    stories, titles = _load_states(session, _best_candidates(keys, by_key), (since, until))
    added: dict[int, int] = {}
    new_keys: list[tuple[str, int]] = []
    members: list[dict] = []
    out: list[StoryEvent] = []
    now = utcnow()
    for event, report in sorted(zip(events, reports, strict=True), key=lambda pair: pair[1].published):
        story = choose_story(report, list(stories.values()), window)
        adds = additions(report, story)
        if story is None:
            story_id = stored.new_story(session, report.title, report.topics, report.published)
            titles[story_id] = report.title
            story = stories[story_id] = StoryState(story_id, set(report.topics), report.published)
        added[story.id] = added.get(story.id, 0) + 1
        absorb(story, report, RECENT_MEMBERS)
        for key in keys[report.article_id]:
            if (key, story.id) not in stored_keys:
                stored_keys.add((key, story.id))
                new_keys.append((key, story.id))
        members.append(
            {
                "article_id": report.article_id,
                "story_id": story.id,
                "signature": report.signature.tobytes(),
                "source": report.source,
                "language": report.language,
                "figures": stored.figures_json(figure_mark(m) for m in report.figures),
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
    summaries = [
        stored.StorySummary(
            id=story_id,
            added=count,
            last_seen=stories[story_id].last_seen,
            topics=sorted(stories[story_id].topics),
            sources=sorted(stories[story_id].sources),
            languages=sorted(stories[story_id].languages),
            figures=sorted(stories[story_id].figures),
        )
        for story_id, count in added.items()
    ]
    stored.save_placements(session, summaries, new_keys, members)
    return out


def stored_story_events(session: Session, events: Sequence[Event]) -> list[StoryEvent]:
    """The story events already recorded for these (known) reports, for alerting about history."""
    by_id = {e.article.id: e for e in events}
    out: list[StoryEvent] = []
    for member, story in stored.memberships(session, by_id):
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
