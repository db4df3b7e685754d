"""The composition root: settings -> database -> rules -> processor -> delivery, built in one place.

The CLI, the faust worker and the web app all start here, so a setting means the same thing in each.
Nothing happens at import or construction beyond what the name says: `open_components` migrates and
connects; rules load on first use; threads start only when a caller starts them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsvigil.ingest.publish import KafkaPublisher
from newsvigil.processors.delivery import Dispatcher
from newsvigil.processors.pipeline import ArticleProcessor
from newsvigil.processors.rules import RuleSet, load_rules
from newsvigil.processors.spikes import SpikeParams
from newsvigil.records import AlertPolicy, Event
from newsvigil.settings import Settings, get_settings
from newsvigil.storage.database import make_engine, session_factory
from newsvigil.storage.migrate import upgrade


@dataclass
class Components:
    """What every process of newsvigil is built from, configured by one Settings."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @cached_property
    def rules(self) -> RuleSet:
        """The detection rules of NEWSVIGIL_TOPICS (read once)."""
        return load_rules(self.settings.topics)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.settings.language_list)

    @property
    def spike_params(self) -> SpikeParams:
        """The spike statistic's parameters (NEWSVIGIL_SPIKE_*)."""
        s = self.settings
        return SpikeParams(
            halflife_hours=s.spike_halflife_hours,
            baseline_days=s.spike_baseline_days,
            floor=s.spike_floor,
            alpha=s.spike_alpha,
            min_reports=s.spike_min_reports,
            cooldown_hours=s.spike_cooldown_hours,
            late_hours=s.spike_late_hours,
            warmup_hours=s.spike_warmup_hours,
        )

    def processor(
        self,
        on_event: Callable[[Event], None] | None = None,
        *,
        alerts: AlertPolicy = AlertPolicy.NEW,
        after_commit: Callable[[], None] | None = None,
    ) -> ArticleProcessor:
        """articles -> detect -> store -> stories and alerts, with the configured languages and window."""
        return ArticleProcessor(
            self.rules,
            self.sessions,
            on_event,
            self.languages,
            timedelta(hours=self.settings.story_window_hours),
            alerts=alerts,
            after_commit=after_commit,
            spikes=self.spike_params,
        )

    def dispatcher(self) -> Dispatcher:
        """Alert delivery over this database (not started)."""
        return Dispatcher(self.sessions, self.settings)

    def close(self) -> None:
        self.engine.dispose()


def connect(settings: Settings) -> Components:
    """Bring the database to the newest schema and connect to it."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    return Components(settings, engine, session_factory(engine))


@contextmanager
def open_components(settings: Settings) -> Iterator[Components]:
    """`connect`, with the engine disposed on exit."""
    components = connect(settings)
    try:
        yield components
    finally:
        components.close()


@contextmanager
def open_database(url: str | None = None) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database (default: NEWSVIGIL_DATABASE_URL) at the newest schema, its engine
    disposed on exit: where CLI commands that only read or write the database start."""
    settings = get_settings() if url is None else get_settings().model_copy(update={"database_url": url})
    with open_components(settings) as components:
        yield components.sessions


def kafka_publisher(settings: Settings) -> KafkaPublisher:
    """The producer of the articles topic, named with the configured prefix."""
    return KafkaPublisher(settings.kafka_servers, settings.bus_topic("articles"), settings.kafka_send_timeout)
