"""Kafka mode: the faust-streaming worker. <prefix>.articles -> detect -> store -> <prefix>.events.

faust consumes on this process's event loop and a thread detects; storing runs in a child process
(newsvigil.runtime.storing), one batch at a time, while this process decodes and detects the next
batch and publishes the previous one's events: two cores at work.

Offsets are acknowledged only after the database commit (manual acks), so a crash or a kill
redelivers, and idempotent upserts make redelivery harmless. Undecodable messages and articles
whose detection fails go to <prefix>.deadletter with their reason, and to the dead_letters table.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from newsvigil.bus import ALERTS_HEADER, decode_article
from newsvigil.outage import Outage, summarise_repeats
from newsvigil.processors.detect import detect_articles
from newsvigil.processors.kafka_topics import ensure_topics
from newsvigil.processors.pipeline import BatchResult
from newsvigil.records import AlertPolicy, Event, utcnow
from newsvigil.runtime.components import Components
from newsvigil.runtime.heap import freeze_startup_objects
from newsvigil.runtime.storing import StoringProcess
from newsvigil.storage.repositories import save_dead_letters

log = logging.getLogger("newsvigil.worker")
KAFKA_CLIENT_MODULES = (
    "aiokafka.client",
    "aiokafka.conn",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
)
BATCH = 500
BATCH_WAIT = 0.2


class WorkerMetrics:
    """Prometheus metrics of one worker process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.articles_in = Counter("newsvigil_articles_in", "Articles consumed", registry=self.registry)
        self.events_out = Counter("newsvigil_events_out", "Events published", registry=self.registry)
        self.dead_letters = Counter(
            "newsvigil_dead_letters", "Messages sent to the dead-letter topic", registry=self.registry
        )
        self.lag = Gauge(
            "newsvigil_consumer_lag",
            "Messages behind the end of the articles topic",
            ["partition"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsvigil_processing_seconds",
            "Batch processing time",
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.outages = Gauge(
            "newsvigil_database_outages", "Database outages this worker rode out", registry=self.registry
        )
        self.database_up = Gauge(
            "newsvigil_database_up", "1 while the database answers, 0 during an outage", registry=self.registry
        )
        self.log_lines_held = Gauge(
            "newsvigil_log_lines_held",
            "Repeated Kafka-client log lines summarised, not written",
            registry=self.registry,
        )


def build_app(components: Components, on_events: Callable[[list[Event]], None] | None = None) -> faust.App:
    """The faust app with its agent, health and metrics pages; topics are created first. `on_events`
    gets each batch's new events (after they are stored and published)."""
    settings, sessions, rules = components.settings, components.sessions, components.rules
    languages = components.languages
    ensure_topics(settings)
    storing = StoringProcess(settings, rules.version).start()
    atexit.register(storing.close)  # before multiprocessing's own exit handler, which would kill it mid-batch
    dispatcher = components.dispatcher()
    metrics = WorkerMetrics()
    # Retries of a held batch wait at most 5 s: faust's rebalances wait for the batch, and with 30 s
    # (the default) a worker kept its group waiting up to half a minute after the database was back
    # (the chaos test once never recovered). A retry costs one refused connection.
    database = Outage("database", log, max_wait=5.0)
    metrics.outages.set_function(lambda: database.outages)  # read from the one tracker both paths report to
    metrics.database_up.set_function(lambda: 0 if database.down else 1)
    for module in KAFKA_CLIENT_MODULES:  # their loggers must exist to get the filter
        importlib.import_module(module)
    repeats = summarise_repeats(("aiokafka", "faust"))
    metrics.log_lines_held.set_function(lambda: repeats.suppressed)

    app = faust.App(
        settings.kafka_group,
        broker=[f"kafka://{server}" for server in settings.kafka_servers],
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.kafka_partitions,
        topic_allow_declare=False,  # ensure_topics made them, with the partitions we expect
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        # A lost worker stalls the group until its session expires (faust's default: 60 s).
        broker_session_timeout=settings.kafka_session_timeout,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval,
        producer_acks=-1,
        web_enabled=settings.worker_web_port > 0,
        web_port=settings.worker_web_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        store="memory://",
        # faust makes "<app id>-data/" in the working directory even with a memory store: keep it out of checkouts.
        datadir=str(Path(tempfile.gettempdir()) / f"newsvigil-faust-{settings.kafka_group}"),  # faust: no parents
    )
    articles_topic = app.topic(settings.bus_topic("articles"), partitions=settings.kafka_partitions)
    events_topic = app.topic(settings.bus_topic("events"), partitions=settings.kafka_partitions)
    dead_topic = app.topic(settings.bus_topic("deadletter"), partitions=settings.kafka_partitions)

    @app.agent(articles_topic)
    async def process_articles(stream: Any) -> None:  # a faust Stream: noack() is not on StreamT
        manual = stream.noack()
        # Up to three batches in flight: while the storing process works on one, this loop decodes
        # and detects the next, and the finisher publishes the one before's events and acks it. Acks
        # stay in order. A finisher that fails ends the agent at once, even with no batch coming: its
        # batches, never acked, would otherwise hold every rebalance of the group.
        jobs: asyncio.Queue[_Job] = asyncio.Queue(maxsize=1)
        finisher = asyncio.ensure_future(finish_jobs(jobs, manual))
        batches = manual.noack_take(BATCH, within=BATCH_WAIT).__aiter__()
        try:
            while True:
                taken = asyncio.ensure_future(batches.__anext__())
                await asyncio.wait({taken, finisher}, return_when=asyncio.FIRST_COMPLETED)
                if not finisher.done():
                    try:
                        batch = taken.result()
                    except StopAsyncIteration:
                        return
                    queued = asyncio.ensure_future(jobs.put(start_job(batch)))
                    await asyncio.wait({queued, finisher}, return_when=asyncio.FIRST_COMPLETED)
                if finisher.done():
                    taken.cancel()
                    finisher.result()  # raises what ended it
                    return
        finally:
            finisher.cancel()

    last_stored: asyncio.Future[BatchResult] | None = None  # the batch read before: stored before the next

    def start_job(batch: list[Any]) -> _Job:
        """Decode a batch and hand its articles to the storing process (stored in the order given)."""
        groups: list[tuple[AlertPolicy, list]] = []  # consecutive articles sharing an alert policy
        letters = []
        for event in batch:
            message = event.message
            try:
                article = decode_article(event.value)
            except ValueError as exc:
                letters.append(_letter(message, f"undecodable article: {exc}"))
                continue
            policy = alert_policy(message.headers)
            if not groups or groups[-1][0] != policy:
                groups.append((policy, []))
            groups[-1][1].append(article)
        metrics.articles_in.inc(len(batch))
        nonlocal last_stored
        last_stored = asyncio.ensure_future(detect_and_store(groups, last_stored))
        return _Job(batch, letters, last_stored, time.perf_counter())

    async def detect_and_store(groups: list[tuple[AlertPolicy, list]], previous: asyncio.Future | None) -> BatchResult:
        """Detect here (on a thread, while the storing process stores the batch before), then store
        there, after the batch before: batches are stored in the order they were read. The stories'
        text signatures are left to the storing process: it has the time to spare, this one not."""
        if not groups:  # every message undecodable: nothing to store, but its acks wait their turn
            if previous is not None:
                await asyncio.wait({previous})
            return BatchResult()
        detected = await asyncio.to_thread(
            lambda: [(p, detect_articles(a, rules, languages, signatures=False)) for p, a in groups]
        )
        if previous is not None:
            await asyncio.wait({previous})
        return await _with_retries(lambda: storing.process(detected), database)

    async def finish_jobs(jobs: asyncio.Queue[_Job], manual: Any) -> None:
        while True:
            job = await jobs.get()
            await finish_job(job)
            for event in job.batch:  # acked only now: everything in the batch is committed
                await manual.ack(event)

    async def finish_job(job: _Job) -> None:
        result = await job.stored
        letters = job.letters + _failed_letters(result, job.batch)
        if letters:
            await _with_retries(lambda: _save_letters(sessions, letters), database)
        for letter in letters:
            await dead_topic.send(key=(letter["key"] or "").encode(), value=json.dumps(letter).encode())
        for item in result.events:
            await events_topic.send(key=item.id.encode(), value=json.dumps(item.to_json(), ensure_ascii=False).encode())
        if on_events and result.events:
            on_events(result.events)
        if result.alerts:
            await deliver()
        metrics.dead_letters.inc(len(letters))
        metrics.events_out.inc(len(result.events))
        metrics.latency.observe(time.perf_counter() - job.started)
        update_lag({event.message.tp: event.message.offset for event in job.batch})

    def update_lag(last_offsets: dict[Any, int]) -> None:
        """Lag of every partition this worker owns now (not only the last message's), and no figure
        for partitions a rebalance took away: a stale gauge said 15 for minutes on a caught-up group."""
        try:
            owned = set(app.consumer.assignment())
        except Exception:  # the consumer may be rebalancing; lag is informational
            return
        for tp in owned:
            try:
                highwater = app.consumer.highwater(tp)
            except Exception:
                continue
            if highwater is None:
                continue
            position = last_offsets.get(tp)
            if position is not None:  # an owned partition with nothing in this batch keeps its last figure
                metrics.lag.labels(str(tp.partition)).set(max(0, highwater - position - 1))
        for labels in list(metrics.lag._metrics):  # partitions no longer owned: no stale figure
            if int(labels[0]) not in {tp.partition for tp in owned}:
                metrics.lag.remove(*labels)

    async def deliver() -> None:
        """One delivery round; a database outage is ridden out (told once), never ends the worker."""
        try:
            await asyncio.to_thread(dispatcher.deliver_due)
        except SQLAlchemyError as exc:
            database.failed(exc)
        else:
            database.ok()

    @app.timer(interval=settings.delivery_interval)
    async def deliver_retries() -> None:
        await deliver()

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        status = "unhealthy: database unavailable" if database.down else "ok"
        return web.json(
            {"status": status, "rules_version": rules.version, "time": utcnow().isoformat()},
            status=503 if database.down else 200,
        )

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics.registry), content_type="text/plain; version=0.0.4")

    return app


def _letter(message: Any, reason: str) -> dict[str, Any]:
    value = message.value or b""
    return {
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "key": message.key.decode("utf-8", "replace") if message.key else None,
        "value": value.decode("utf-8", "replace"),
        "reason": reason,
    }


def alert_policy(headers: Any) -> AlertPolicy:
    """The alert policy a message asks for (replay sets it in a header); live articles: "new"."""
    items = headers.items() if hasattr(headers, "items") else headers or ()
    for key, value in items:
        if key == ALERTS_HEADER and value and value.decode("ascii", "replace") in tuple(AlertPolicy):
            return AlertPolicy(value.decode("ascii"))
    return AlertPolicy.NEW


@dataclass(slots=True)
class _Job:
    """A batch on its way: decoded, given to the storing process (`stored`), not yet acked."""

    batch: list[Any]
    letters: list[dict[str, Any]]  # undecodable messages
    stored: asyncio.Future[BatchResult]
    started: float


def _failed_letters(result: BatchResult, batch: list) -> list[dict[str, Any]]:
    """Dead letters for the articles whose detection failed or that the database refused."""
    if not result.failed:
        return []
    by_id: dict[str | None, Any] = {}
    for event in batch:
        by_id.setdefault(event.key.decode("utf-8", "replace") if event.key else None, event.message)
    return [_letter(by_id.get(a.id) or batch[0].message, reason) for a, reason in result.failed]


def _save_letters(sessions: Any, letters: list[dict[str, Any]]) -> None:
    with sessions.begin() as session:
        save_dead_letters(session, letters)


async def _with_retries(step: Any, database: Outage) -> Any:
    """Run a storage step (on a thread: the event loop goes on fetching) until it succeeds: the
    database being down delays the batch, never acks it. The outage is logged once when it starts
    and once when it ends."""
    while True:
        try:
            result = await asyncio.to_thread(step)
        except SQLAlchemyError as exc:
            await asyncio.sleep(database.failed(exc))
        else:
            database.ok()
            return result


def run_worker(
    components: Components, loglevel: str = "warning", on_events: Callable[[list[Event]], None] | None = None
) -> None:
    """Run a worker until SIGTERM/SIGINT (faust handles both and shuts down cleanly)."""
    app = build_app(components, on_events)
    freeze_startup_objects()
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
