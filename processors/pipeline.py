"""The processing step both modes share: detect a batch of articles, store it, report new events."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from newsvigil.records import Article, Detection, Event
from processors.detect import DEFAULT_LANGUAGES, detect
from processors.rules import RuleSet
from storage.alerts import enqueue_alerts
from storage.repositories import save_detections
from storage.stories import assign_stories


log = logging.getLogger("newsvigil.pipeline")


@dataclass(slots=True)
class BatchResult:
    events: list[Event] = field(default_factory=list)
    failed: list[tuple[Article, str]] = field(default_factory=list)  # detection raised: article and reason
    alerts: int = 0  # alerts enqueued for subscribers


class ArticleProcessor:
    """articles -> detect -> store (one transaction) -> new events to `on_event`."""

    def __init__(self, rules: RuleSet, sessions: sessionmaker[Session],
                 on_event: Callable[[Event], None] | None = None,
                 languages: tuple[str, ...] = DEFAULT_LANGUAGES,
                 story_window: timedelta = timedelta(hours=72), create_alerts: bool = True,
                 after_commit: Callable[[], None] | None = None) -> None:
        self.rules = rules
        self.sessions = sessions
        self.on_event = on_event
        self.languages = languages
        self.story_window = story_window
        self.create_alerts = create_alerts
        self.after_commit = after_commit

    def handle(self, articles: Sequence[Article]) -> list[Event]:
        """Process a batch (the embedded bus's handler); returns the new events."""
        result = self.process(articles)
        for article, reason in result.failed:
            log.error("article %s (%s) not processed: %s", article.id, article.link or article.feed_url, reason)
        return result.events

    def process(self, articles: Sequence[Article]) -> BatchResult:
        """Detect and store a batch; the database commit happens before this returns (the ack point).

        An article whose detection raises is reported in `failed`, never silently dropped; database
        errors propagate so that the caller retries the whole batch.
        """
        result = BatchResult()
        results: list[tuple[Article, Detection]] = []
        for article in articles:
            try:
                results.append((article, detect(article, self.rules, self.languages)))
            except Exception as exc:  # a detection bug must not block the other articles
                result.failed.append((article, f"detection failed: {exc.__class__.__name__}: {exc}"))
        with self.sessions.begin() as session:
            result.events = save_detections(session, results)
            story_events = assign_stories(session, result.events, self.story_window)
            if self.create_alerts:
                result.alerts = enqueue_alerts(session, story_events)
        if result.alerts and self.after_commit:
            self.after_commit()
        if self.on_event:
            for event in result.events:
                self.on_event(event)
        return result
