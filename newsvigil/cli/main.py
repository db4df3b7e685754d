"""The `newsvigil` command line. Commands only wire settings, I/O and the pure functions together."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import TextIO

import typer

from newsvigil import __version__
from newsvigil.batching import batched
from newsvigil.cli.console import err, out, progress_bar, styled, user_errors
from newsvigil.cli.errors import UserError
from newsvigil.records import AlertPolicy, TroopMention, parse_time
from newsvigil.settings import get_settings

app = typer.Typer(
    help="newsvigil: monitor news feeds for topics (NATO, Greenland, your own) and troop figures, and alert on new reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema management (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _register_subcommands() -> None:
    from newsvigil.cli.feeds import feeds_app
    from newsvigil.cli.subscriptions import alerts, subscribe_app

    app.add_typer(feeds_app, name="feeds")
    app.add_typer(subscribe_app, name="subscribe")
    app.command("alerts")(alerts)
    from newsvigil.cli.web import serve, tokens_app

    app.command("serve")(serve)
    from newsvigil.cli.feedback import feedback

    app.command("feedback")(feedback)
    app.add_typer(tokens_app, name="tokens")


def _version(value: bool) -> None:
    if value:
        out.print(f"newsvigil {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log details (fetches, warnings) to stderr."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Configuration comes from NEWSVIGIL_* environment variables; see README.md."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


def _print_cycle(number: int, reports: list, seconds: float, events: list[int]) -> None:
    failed = [r for r in reports if r.error]
    for report in failed:
        err.print(styled(f"feed {report.url}:", "yellow", report.error))
    unpublished = [r for r in reports if r.deferred and r.deferred.startswith("publishing failed")]
    if unpublished:  # one line for a bus outage, not one per feed
        err.print(
            styled(
                "bus:",
                "yellow",
                f"{unpublished[0].deferred} ({len(unpublished)} feeds' new articles; "
                "they are fetched again next cycle)",
            )
        )
    new = sum(r.new for r in reports)
    out.print(
        styled(
            f"cycle {number}:",
            "dim",
            f"{len(reports)} feeds, {new} new articles, {events[0]} events, "
            f"{len(failed)} feed errors ({seconds:.1f} s)",
        )
    )
    events[0] = 0


@app.command()
@user_errors
def run(once: bool = typer.Option(False, "--once", help="Poll every feed once, then exit.")) -> None:
    """Monitor: poll every feed, detect topics and troop figures, store, and print one line per new event.

    Embedded by default (SQLite + in-process bus). With NEWSVIGIL_BROKER=kafka://host:port, runs the
    Kafka ingester and a faust worker in this one process.
    """

    settings = get_settings()
    counter = [0]

    def on_events(events) -> None:
        counter[0] += len(events)
        _print_events(events)

    from newsvigil.runtime.components import open_components
    from newsvigil.storage.database import shown_url

    with open_components(settings) as components:
        if settings.kafka_mode:
            from newsvigil.runtime.combined import run_combined

            run_combined(components, once, lambda n, r, s: _print_cycle(n, r, s, counter), on_events)
            return
        from newsvigil.runtime.monitor import embedded_monitor

        monitor = embedded_monitor(components, lambda event: on_events([event]))
        out.print(
            f"newsvigil: monitoring {len(monitor.feeds)} feeds every {settings.poll_interval:g} s "
            f"(rules {components.rules.version}, database {shown_url(settings.database_url)})"
        )
        _run_monitor(monitor, once, lambda n, r, s: _print_cycle(n, r, s, counter))


def _run_monitor(monitor, once: bool, on_cycle) -> None:
    """Run a monitor until it ends (--once), Ctrl-C or SIGTERM (what docker stop, systemd and
    Kubernetes send): each stops it between steps, then the last delivery round records what was
    sent. SIGTERM exits 0."""
    import signal

    terminated: list[bool] = []

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None

        def stop() -> None:
            terminated.append(True)
            task.cancel()

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop)
        try:
            await monitor.run(once, on_cycle)
        except asyncio.CancelledError:
            if not terminated:
                raise

    try:
        monitor.start()
        asyncio.run(main())
    finally:
        monitor.close()
    if terminated:
        err.print("stopped (SIGTERM)")


def _require_kafka(settings) -> None:
    if not settings.kafka_mode:
        raise UserError(
            "this command runs in Kafka mode only, and NEWSVIGIL_BROKER is memory://",
            "set NEWSVIGIL_BROKER=kafka://host:port, or use `newsvigil run` for the embedded mode",
        )


@app.command()
@user_errors
def ingest(once: bool = typer.Option(False, "--once", help="Poll every feed once, then exit.")) -> None:
    """Kafka mode: poll every feed and publish new articles to <prefix>.articles (kafka-python).

    A feed's state advances only after Kafka acknowledged its articles: a broker outage delays
    articles, never drops them.
    """
    from newsvigil.ingest.publish import PublishFailed
    from newsvigil.processors.kafka_topics import ensure_topics
    from newsvigil.runtime.components import kafka_publisher, open_components
    from newsvigil.runtime.monitor import publishing_monitor

    settings = get_settings()
    _require_kafka(settings)
    ensure_topics(settings)
    try:
        publisher = kafka_publisher(settings)
    except PublishFailed as exc:
        raise UserError(str(exc), "start Kafka (make services) or fix NEWSVIGIL_BROKER") from None
    with open_components(settings) as components:
        monitor = publishing_monitor(components, publisher)
        out.print(
            f"newsvigil ingest: {len(monitor.feeds)} feeds -> {settings.bus_topic('articles')} on {settings.broker}"
        )
        _run_monitor(monitor, once, lambda n, r, s: _print_cycle(n, r, s, [0]))


def _print_events(events) -> None:
    """One line per event, in one print per batch: rich's cost per call was ~13 % of a busy worker's
    event loop."""
    from newsvigil.processors.alerts import alert_line

    out.print("\n".join(alert_line(event) for event in events), markup=False)


@app.command()
@user_errors
def worker(
    loglevel: str = typer.Option("warning", "--loglevel", help="faust log level (debug, info, warning, error)."),
) -> None:
    """Kafka mode: a faust-streaming worker: articles -> detect -> store -> events, failures -> deadletter.

    Run several to share the partitions of one consumer group (NEWSVIGIL_KAFKA_GROUP). Serves
    /healthz and /metrics (Prometheus) on 127.0.0.1:NEWSVIGIL_WORKER_WEB_PORT.
    """
    from newsvigil.runtime.worker import run_worker

    settings = get_settings()
    _require_kafka(settings)
    from newsvigil.runtime.components import open_components

    with open_components(settings) as components:
        run_worker(components, loglevel, _print_events)


@app.command()
@user_errors
def detect(
    input: Path | None = typer.Option(None, "--input", "-i", help="JSON-lines file of articles (default: stdin)."),
    explain: bool = typer.Option(
        False, "--explain", help='Add every troop candidate with why it was kept or dropped ("explain" in each line).'
    ),
) -> None:
    """Detect topics, troop figures and vague quantities in articles given as JSON lines; no database, no network.

    Each input line: {"id", "title", "summary", optional "lang", "link", "published", "source"}.
    Each output line: {"id", "lang", "topics", "troops": [{"value", "low", "high", "approx", "unit",
    "quote", "start", "end", "actor", "action", "place": {"id", "name"} or null}], "vague": [{"magnitude",
    "unit", "quote", "start", "end"}]}. "place" is where the figure's troops go, are or leave from
    (seeds/places.yaml), null when the figure's sentence names no place.
    "vague" holds quantities with no figure ("thousands of troops"): never figures. Offsets index into
    title + "\n" + summary. With --explain, "explain": [{"quote", "value" or "magnitude", "unit",
    "kept", "reason"}] lists every number read next to a unit word and the reason it was kept or dropped.
    """
    from newsvigil.processors.detect import detect_text
    from newsvigil.processors.rules import load_rules
    from newsvigil.records import join_text

    settings = get_settings()
    rules = load_rules(settings.topics)
    languages = tuple(settings.language_list)
    stream: TextIO
    if input is not None:
        try:
            stream = input.open(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot read {input}: {exc.strerror}", "give an existing JSON-lines file") from None
    else:
        stream = sys.stdin
    bad = 0
    write = sys.stdout.write
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("a line must be a JSON object")
                if not isinstance(item.get("lang"), (str, type(None))):
                    raise ValueError(f"'lang' must be a language code such as \"fr\", not {item['lang']!r}")
                text = join_text(str(item.get("title") or ""), str(item.get("summary") or ""))
                found = detect_text(text, rules, item.get("lang"), languages)
                result = {
                    "id": item.get("id"),
                    "lang": found.lang,
                    "topics": found.topics,
                    "troops": [m.to_json() for m in found.troops],
                    "vague": [v.to_json() for v in found.vague],
                }
                if explain:
                    result["explain"] = [v.to_json() for v in found.verdicts]
            except (ValueError, RecursionError) as exc:
                bad += 1
                exc = exc if isinstance(exc, ValueError) else ValueError("JSON nested too deeply")
                err.print(f"{input or 'stdin'} line {number}: {exc}", markup=False)
                result = {"id": None, "error": f"line {number}: {exc}"}
            write(json.dumps(result, ensure_ascii=False) + "\n")
    if bad:
        raise typer.Exit(1)


@app.command()
@user_errors
def replay(
    paths: list[Path] = typer.Argument(
        ..., help="RSS/Atom files, WARC archives, `newsvigil export` JSON lines (each .gz too), or folders of them."
    ),
    alerts: AlertPolicy = typer.Option(
        AlertPolicy.NONE,
        "--alerts",
        help="none: history does not notify; new: alert (and print) events never seen before; all: alert about known reports too (each subscriber still gets a report once).",
    ),
    since: str | None = typer.Option(None, "--since", help="Only items published at or after this ISO 8601 time."),
    until: str | None = typer.Option(None, "--until", help="Only items published before this ISO 8601 time."),
    rate: float = typer.Option(0, "--rate", min=0, help="Items per second (0 = as fast as possible)."),
    workers: int = typer.Option(
        os.cpu_count() or 1, "--workers", min=0, help="Processes reading and detecting archives (0 = this one)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Write nothing (use with --diff)."),
    diff: bool = typer.Option(
        False, "--diff", help="Print what today's rules add or remove (topics, figures) against what is stored."
    ),
) -> None:
    """Replay archives in publication order: embedded, through the pipeline (detect, store, stories);
    in Kafka mode, published to <prefix>.articles for the workers.

    Prints a summary: items read, new, already known, not processed, outside --since/--until, rejected
    with reasons. Exits 1 when anything was rejected or not processed.
    """
    from newsvigil.ingest.replay import Archive
    from newsvigil.processors.detect import article_detector, detect_articles
    from newsvigil.processors.rules import load_rules
    from newsvigil.runtime.heap import freeze_startup_objects, frozen_startup_objects

    since_time, until_time = _time_option("--since", since), _time_option("--until", until)
    settings = get_settings()
    rules = load_rules(settings.topics)
    languages = tuple(settings.language_list)
    to_kafka = settings.kafka_mode and not (dry_run or diff)
    failed = 0  # items detection or the database refused (replay then exits 1)
    detector = None if to_kafka else (article_detector, (str(settings.topics), languages))
    # The same detection over the rules read above: forked reading processes inherit it (spawned
    # ones build their own from `detector`), and the processor storing the items reuses the rules.
    built = None if to_kafka else partial(detect_articles, rules=rules, languages=languages)
    # Frozen before the reading processes are forked: they inherit it.
    with (
        frozen_startup_objects(),
        Archive(
            [str(p) for p in paths],
            since_time,
            until_time,
            workers,
            detector,
            max_document_bytes=settings.max_archive_bytes,
            built=built,
        ) as archive,
    ):
        files = archive.list_files()
        archive.start(files)  # the reading processes are forked here, before any thread starts
        if not to_kafka:
            # The storing side (SQLAlchemy, the models, delivery: about half a second of imports)
            # loads while the pool reads the files.
            import newsvigil.runtime.components  # noqa: F401

            freeze_startup_objects()  # what that import made, too
        with progress_bar("reading", "files") as progress:
            task = progress.add_task("read", total=len(files))
            archive.finish(on_file=lambda: progress.advance(task))
        with progress_bar("replay") as progress:
            task = progress.add_task("replay", total=archive.count)
            batches = _paced(archive, rate, lambda n: progress.advance(task, n))
            if to_kafka:
                summary = _replay_to_kafka(batches, settings, alerts)
            elif dry_run or diff:
                changed = _print_rule_diff(batches, rules, settings.database_url, show=diff)
                summary = (
                    f"{'dry run: ' if dry_run else ''}{archive.count} items, {changed} would change "
                    f"under rules {rules.version}"
                )
                if not dry_run:
                    stored, failed = _replay_locally(_paced(archive, rate, lambda n: None), settings, alerts, rules)
                    summary += "; " + stored
            else:
                summary, failed = _replay_locally(batches, settings, alerts, rules)
    _print_rejected(archive.rejected)
    skipped = f", {archive.skipped} outside --since/--until" if archive.skipped else ""
    out.print(f"replayed {archive.files} files: {summary}{skipped}, {len(archive.rejected)} rejected")
    if archive.rejected or failed:
        raise typer.Exit(1)


def _paced(items, rate: float, advance, size: int = 2000):
    """Batches of `items`, paced to `rate` items per second when it is set."""
    size = max(1, min(size, int(rate))) if rate else size
    started = time.monotonic()
    done = 0
    for chunk in batched(items, size):
        if rate:
            time.sleep(max(0.0, started + done / rate - time.monotonic()))
        yield chunk
        done += len(chunk)
        advance(len(chunk))


def _replay_locally(batches, settings, alerts: AlertPolicy, rules=None) -> tuple[str, int]:
    """Store detected batches through the pipeline (alerts delivered as the policy says); (summary,
    items not processed)."""
    from newsvigil.processors.alerts import alert_line
    from newsvigil.runtime.components import open_components

    def on_event(event) -> None:
        if alerts != AlertPolicy.NONE:
            out.print(alert_line(event), markup=False)

    items = known = events = 0
    sent = [0]  # alerts delivered by the rounds after each batch
    failed = [0]  # items whose detection or storing failed (named on stderr; replay exits 1)
    with open_components(settings) as components:
        if rules is not None:
            components.rules = rules  # read once by the caller (a second read costs about a second)
        dispatcher = components.dispatcher()

        def deliver_round() -> None:
            sent[0] += dispatcher.deliver_due()["sent"]

        processor = components.processor(on_event, alerts=alerts, after_commit=deliver_round)
        try:
            for chunk in batches:
                result = processor.store(chunk)
                known += result.known
                for article, reason in result.failed:
                    err.print(styled(f"not processed {article.id}:", "yellow", reason))
                failed[0] += len(result.failed)
                items += len(chunk)
                events += len(result.events)
            delivery = _drain_alerts(dispatcher, sent[0]) if alerts != AlertPolicy.NONE else ""
        finally:
            dispatcher.close()
    new = items - known - failed[0]
    processed = f", {failed[0]} not processed" if failed[0] else ""
    return f"{items} items, {new} new, {known} already known{processed}, {events} new events{delivery}", failed[0]


def _drain_alerts(dispatcher, sent: int) -> str:
    """Deliver the alerts replay queued before exiting (a round is 200); say what stays queued."""
    with progress_bar("delivering alerts", "alerts") as progress:
        task = progress.add_task("deliver", total=None)
        delivered, pending = dispatcher.drain(lambda counts: progress.advance(task, sum(counts.values())))
    delivered += sent
    if pending:
        err.print(
            styled(
                "hint:",
                "dim",
                f"{pending} alerts wait for a retry or a digest; `newsvigil run` "
                "delivers them (see `newsvigil alerts`)",
            )
        )
    return f", {delivered} alerts delivered" + (f", {pending} still queued" if pending else "")


def _replay_to_kafka(batches, settings, alerts: AlertPolicy) -> str:
    """Kafka mode: publish in publication order to <prefix>.articles; the workers detect and store."""
    from newsvigil.ingest.publish import PublishFailed
    from newsvigil.processors.kafka_topics import ensure_topics
    from newsvigil.runtime.components import kafka_publisher

    topic = settings.bus_topic("articles")
    try:
        ensure_topics(settings)
        publisher = kafka_publisher(settings)
    except PublishFailed as exc:
        raise UserError(str(exc), "start Kafka (services/services.sh up kafka) or check NEWSVIGIL_BROKER") from None
    published = 0
    try:
        for chunk in batches:
            publisher.publish(chunk, alerts=alerts)
            published += len(chunk)
    except PublishFailed as exc:
        raise UserError(
            f"{exc} after {published} items were published", "replay again: workers skip what is already stored"
        ) from None
    finally:
        publisher.close()
    return f"{published} items published to {topic} (alerts: {alerts})"


@app.command()
@user_errors
def reprocess(
    since: str = typer.Option(
        ..., "--since", help="Re-run from the first article published to Kafka at or after this ISO 8601 time."
    ),
) -> None:
    """Kafka mode: re-run the workers over <prefix>.articles from a time (e.g. after changing topics.yaml).

    Moves the worker group's committed offsets back to that time; stop the workers first, start them
    again afterwards. Stored articles are re-detected and updated; nothing is duplicated.
    """
    from newsvigil.processors.kafka_topics import rewind_workers

    settings = get_settings()
    _require_kafka(settings)
    offsets = rewind_workers(settings, _time_option("--since", since))
    out.print(
        f"consumer group {settings.kafka_group} rewound on {settings.bus_topic('articles')}: "
        + ", ".join(f"partition {p} -> offset {o}" for p, o in offsets.items())
    )
    out.print("start the workers (newsvigil worker) to re-run from there")


def _print_rejected(rejected) -> None:
    for item in rejected:
        err.print(styled(f"rejected {item.path}:", "yellow", item.reason))


def _print_rule_diff(batches, rules, database_url: str, show: bool) -> int:
    """Compare today's detections with stored ones; print each changed article when `show`."""
    from newsvigil.processors.rules_diff import diff_detection
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.mapping import mention_of, mentions_by_article, topics_by_article

    changed = 0
    with open_database(database_url) as sessions, sessions() as session:
        for chunk in batches:
            ids = [a.id for a, _ in chunk]
            topics = topics_by_article(session, ids)
            mentions = mentions_by_article(session, ids)
            for article, detection in chunk:
                if isinstance(detection, str):
                    continue
                result = diff_detection(
                    article.id,
                    article.title,
                    set(topics.get(article.id, ())),
                    set(detection.topics),
                    {mention_of(m).label() for m in mentions.get(article.id, ())},
                    {m.label() for m in detection.troops},
                )
                if not result.empty:
                    changed += 1
                    if show:
                        out.print("\n".join(result.lines()), markup=False)
    return changed


def _time_option(option: str, value: str | None):
    try:
        return parse_time(value) if value else None
    except ValueError:
        raise UserError(
            f"{option} {value!r} is not an ISO 8601 time", f"e.g. {option} 2026-11-01 or 2026-11-01T08:00:00Z"
        ) from None


@app.command()
@user_errors
def export(
    jsonl: Path = typer.Option(..., "--jsonl", help="File to write (JSON lines; '-' for stdout)."),
    since: str | None = typer.Option(None, "--since", help="Only articles published at or after this ISO 8601 time."),
    until: str | None = typer.Option(None, "--until", help="Only articles published before this ISO 8601 time."),
    topic: str | None = typer.Option(None, "--topic", help="Only articles on this topic."),
) -> None:
    """Export stored articles with their detections as JSON lines (the format `replay` reads back)."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.export import export_records, write_jsonl

    since_time, until_time = _time_option("--since", since), _time_option("--until", until)
    try:
        stream = sys.stdout if str(jsonl) == "-" else jsonl.open("w", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {jsonl}: {exc.strerror}", "give a writable path") from None
    with open_database() as sessions, sessions() as session:
        count = write_jsonl(export_records(session, since_time, until_time, topic), stream)
    if stream is not sys.stdout:
        stream.close()
        out.print(f"exported {count} articles to {jsonl}")


@app.command()
@user_errors
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Counts of feeds, articles, events, troop mentions, stories and alerts in the database."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.repositories import stats as count_rows

    with open_database() as sessions, sessions() as session:
        counts = count_rows(session)
    if as_json:
        out.print(json.dumps(counts), markup=False)
    else:
        for key, value in counts.items():
            out.print(f"{key:>15}: {value:,}")


@app.command()
@user_errors
def events(
    topic: str | None = typer.Option(None, "--topic", help="Only events on this topic (e.g. nato)."),
    since: str | None = typer.Option(None, "--since", help="Only events published at or after this ISO 8601 time."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many events."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Stored events, newest first, with their troop figures."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.repositories import list_events

    since_time = _time_option("--since", since)
    with open_database() as sessions, sessions() as session:
        rows = list_events(session, topic, since_time, limit)
    for row in rows:
        if as_json:
            out.print(json.dumps(row, ensure_ascii=False), markup=False, soft_wrap=True)
        else:
            figures = ", ".join(TroopMention.from_json(m).label() for m in row["figures"])
            out.print(
                f"{row['published'] or '-':25} [{','.join(row['topics'])}] {row['title']}"
                + (f"  ({figures})" if figures else "")
                + (f"  {row['link']}" if row["link"] else ""),
                markup=False,
            )


@db_app.command("upgrade")
@user_errors
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from newsvigil.storage.database import shown_url
    from newsvigil.storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    out.print(f"database {shown_url(settings.database_url)} is at {revision}")


@db_app.command("downgrade")
@user_errors
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Revert migrations down to REVISION."""
    from newsvigil.storage.database import shown_url
    from newsvigil.storage.migrate import downgrade

    settings = get_settings()
    downgrade(settings.database_url, revision)
    out.print(f"database {shown_url(settings.database_url)} is at {revision}")


_register_subcommands()
