"""The processing step both modes share: detect a batch of articles, store it, report new events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from newsvigil.defaults import DEFAULT_LANGUAGES, DEFAULT_STORY_WINDOW_HOURS
from newsvigil.outage import first_line
from newsvigil.processors.detect import Detected, detect, detect_articles
from newsvigil.processors.rules import RuleSet
from newsvigil.processors.series_assignment import record_series, stored_figure_changes
from newsvigil.processors.spike_detection import SpikeDetector, recorded_spikes
from newsvigil.processors.spikes import SpikeParams
from newsvigil.processors.story_assignment import assign_stories, stored_story_events
from newsvigil.processors.subscriptions import enqueue_alerts
from newsvigil.records import AlertPolicy, Article, Detection, Event
from newsvigil.storage.database import unreachable
from newsvigil.storage.repositories import known_article_ids, save_detections, stored_bodies

log = logging.getLogger("newsvigil.pipeline")


def refused_by_database(exc: StatementError) -> bool:
    """The database refused the data (a value too long, a NUL, a constraint), as opposed to being
    unreachable: retrying the same record can never succeed."""
    return not unreachable(exc)


@dataclass(slots=True)
class BatchResult:
    events: list[Event] = field(default_factory=list)
    failed: list[tuple[Article, str]] = field(default_factory=list)  # detection raised: article and reason
    alerts: int = 0  # alerts enqueued for subscribers
    known: int = 0  # articles stored before this batch (stored again)


# Which events alert subscribers: none (history), new (never seen before), all (known reports
# too; the outbox still sends each subscriber a given report once).


def notify(
    result: BatchResult, on_event: Callable[[Event], None] | None, after_commit: Callable[[], None] | None
) -> None:
    """After a batch's commit: `after_commit` if it queued alerts (delivery wakes up), then
    `on_event` for each new event."""
    if result.alerts and after_commit:
        after_commit()
    if on_event:
        for event in result.events:
            on_event(event)


def log_failed(result: BatchResult) -> None:
    """One error line per article that could not be processed."""
    for article, reason in result.failed:
        log.error("article %s (%s) not processed: %s", article.id, article.link or article.feed_url, reason)


class ArticleProcessor:
    """articles -> detect -> store (one transaction) -> new events to `on_event`."""

    def __init__(
        self,
        rules: RuleSet,
        sessions: sessionmaker[Session],
        on_event: Callable[[Event], None] | None = None,
        languages: tuple[str, ...] = DEFAULT_LANGUAGES,
        story_window: timedelta = timedelta(hours=DEFAULT_STORY_WINDOW_HOURS),
        alerts: AlertPolicy = AlertPolicy.NEW,
        after_commit: Callable[[], None] | None = None,
        spikes: SpikeParams | None = None,
    ) -> None:
        self.rules = rules
        self.sessions = sessions
        self.on_event = on_event
        self.languages = languages
        self.story_window = story_window
        self.alerts = alerts
        self.after_commit = after_commit
        self.spikes = SpikeDetector(spikes or SpikeParams())

    def handle(self, articles: Sequence[Article]) -> list[Event]:
        """Process a batch (the embedded bus's handler); returns the new events."""
        result = self.process(articles)
        log_failed(result)
        return result.events

    def process(self, articles: Sequence[Article], alerts: AlertPolicy | None = None) -> BatchResult:
        """Detect and store a batch; the database commit happens before this returns (the ack point).

        An article whose detection raises is reported in `failed`, never silently dropped; database
        errors propagate so that the caller retries the whole batch.
        """
        return self.store(detect_articles(articles, self.rules, self.languages), alerts)

    def _with_stored_bodies(
        self, session: Session, results: list[tuple[Article, Detection]], stored: set[str]
    ) -> list[tuple[Article, Detection]]:
        """Articles that come without a body (replay, a feed re-read) but were stored (`stored`) with
        one are detected on that body again: a figure found in the full text is never lost."""
        bare = [a.id for a, _ in results if not a.body and a.id in stored]
        bodies = stored_bodies(session, bare) if bare else {}
        if not bodies:
            return results
        out = []
        for article, detection in results:
            if not article.body and article.id in bodies:
                with_body = replace(article, body=bodies[article.id])
                out.append((with_body, detect(with_body, self.rules, self.languages)))
            else:
                out.append((article, detection))
        return out

    def _commit(self, results: list[tuple[Article, Detection]], alerts: AlertPolicy, result: BatchResult) -> None:
        """Store, group into stories and queue alerts in one transaction; adds to `result`."""
        with self.sessions.begin() as session:
            # Asked once: an article never stored has no body, event, figures or points to look up
            # (save_detections adds those another writer stores meanwhile).
            stored = known_article_ids(session, [a.id for a, _ in results])
            results = self._with_stored_bodies(session, results, stored)
            events = save_detections(session, results, stored)
            story_events = assign_stories(session, events, self.story_window)
            new = {e.article.id for e in events}
            changes = record_series(session, results, new, self.rules, stored)
            spikes = self.spikes.detect(session, events)
            if alerts == AlertPolicy.ALL:
                known = [Event(a, d) for a, d in results if d.topics and a.id not in new]
                story_events += stored_story_events(session, known)
                changes += stored_figure_changes(session, [e.article.id for e in known])
                spikes += recorded_spikes(session, known)
            alerted = 0
            if alerts != AlertPolicy.NONE:
                alerted = enqueue_alerts(session, story_events, spikes, changes)
        self.spikes.committed()
        result.events += events
        result.alerts += alerted
        result.known += len(stored)

    def store(self, detected: Sequence[Detected], alerts: AlertPolicy | None = None) -> BatchResult:
        """Store articles detected elsewhere (e.g. in replay's process pool), as `process` does.

        `alerts` (an AlertPolicy) overrides the processor's policy for this batch.
        """
        alerts = alerts or self.alerts
        result = BatchResult()
        results: list[tuple[Article, Detection]] = []
        for article, detection in detected:
            if isinstance(detection, str):
                result.failed.append((article, detection))
            else:
                results.append((article, detection))
        try:
            self._commit(results, alerts, result)
        except StatementError as exc:
            if not refused_by_database(exc):
                raise  # an outage: the caller retries the batch
            # One record the database refuses must not hold back the others (nor be retried forever):
            # store each alone; those still refused are reported as failed (the worker dead-letters them).
            for one in results:
                try:
                    self._commit([one], alerts, result)
                except StatementError as single:
                    if not refused_by_database(single):
                        raise
                    reason = first_line(single.orig or single)
                    result.failed.append((one[0], f"refused by the database: {reason}"))
        notify(result, self.on_event, self.after_commit)
        return result
