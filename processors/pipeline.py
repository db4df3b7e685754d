"""The processing step both modes share: detect a batch of articles, store it, report new events."""

from __future__ import annotations

from typing import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from newsvigil.records import Article, Event
from processors.detect import DEFAULT_LANGUAGES, detect
from processors.rules import RuleSet
from storage.repositories import save_detections


class ArticleProcessor:
    """articles -> detect -> store (one transaction) -> new events to `on_event`."""

    def __init__(self, rules: RuleSet, sessions: sessionmaker[Session],
                 on_event: Callable[[Event], None] | None = None,
                 languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> None:
        self.rules = rules
        self.sessions = sessions
        self.on_event = on_event
        self.languages = languages

    def handle(self, articles: Sequence[Article]) -> list[Event]:
        """Process a batch; the database commit happens before this returns (the bus's ack point)."""
        results = [(a, detect(a, self.rules, self.languages)) for a in articles]
        with self.sessions.begin() as session:
            events = save_detections(session, results)
        if self.on_event:
            for event in events:
                self.on_event(event)
        return events
