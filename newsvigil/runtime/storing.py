"""The worker's storing process: a child process that stores the worker's detected batches.

faust consumes on the worker's event loop, one core's worth of Python; storing a batch (stories,
series, spikes, alerts: most of it waiting on the database) is the rest. In one process they took
turns: the loop could not fetch while a batch was stored, and every batch then waited for messages
already in Kafka. In two processes they run at once, on two cores. The child holds its own database
connections, rules and spike state; the worker sends it one detected batch at a time (detection
runs in the worker, while the child stores the batch before) and gets the batch's result back.

Spawned, not forked: the worker's threads (faust's consumer thread, the event loop) must not be
copied half-way. The child exits when the worker does: its end of the pipe reads end-of-file.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import signal
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from newsvigil.errors import RulesError
from newsvigil.outage import first_line
from newsvigil.processors.detect import Detected
from newsvigil.processors.pipeline import BatchResult
from newsvigil.records import AlertPolicy, Article
from newsvigil.settings import Settings

log = logging.getLogger("newsvigil.worker")

# The detected articles of one batch, in runs that share an alert policy (replay may ask for another
# per message).
Groups = Sequence[tuple[AlertPolicy, list[Detected]]]

READY_TIMEOUT = 300.0  # seconds: the child imports newsvigil and loads the rules before its first batch
RESTARTS = 3  # a child that dies this many times in a row on one batch is not restarted again


class StorageFailed(SQLAlchemyError):
    """A database error of the storing process that could not be sent as it was (told by its class
    and first line)."""


class StoringProcessLost(RuntimeError):
    """The storing process died (killed, out of memory) more than RESTARTS times on one batch."""


class StoringProcess:
    """The worker's side of the child: `process` a batch (blocking; call it off the event loop)."""

    def __init__(self, settings: Settings, rules_version: str | None = None) -> None:
        self.settings = settings
        self.rules_version = rules_version  # the parent's: the child refuses to run other rules
        self._conn: Connection | None = None
        self._child: multiprocessing.process.BaseProcess | None = None
        self._ready = False
        self._lock = threading.Lock()  # one batch at a time through the pipe

    def start(self) -> StoringProcess:
        """Start the child (it gets ready while the worker starts; the first batch waits for it)."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        child = context.Process(
            target=_serve, args=(theirs, self.settings, self.rules_version), name="newsvigil-storing", daemon=True
        )
        child.start()
        theirs.close()  # only the child holds its end now: the child reads end-of-file when we are gone
        self._conn, self._child, self._ready = ours, child, False
        return self

    def process(self, groups: Groups) -> BatchResult:
        """Store one detected batch in the child; its exceptions (a database error: an outage) are
        raised here. A child that died is restarted and given the batch again."""
        return self._call(("store", list(groups)))

    def handle(self, articles: Sequence[Article]) -> BatchResult:
        """Detect and store articles in the child (the embedded mode: its parent fetches and parses)."""
        return self._call(("process", list(articles)))

    def _call(self, request: tuple[str, Any]) -> BatchResult:
        with self._lock:
            for attempt in range(RESTARTS + 1):
                try:
                    kind, value = self._exchange(request)
                except (EOFError, OSError) as exc:  # the pipe broke: the child is gone
                    child = self._child
                    self.close()  # reaps it: its exit code is known after
                    code = child.exitcode if child else None
                    if attempt == RESTARTS:
                        raise StoringProcessLost(
                            f"the storing process died {RESTARTS + 1} times on one batch (last exit code {code})"
                        ) from exc
                    log.error("the storing process exited (exit code %s); starting it again", code)
                    self.start()
                    continue
                if kind == "raised":
                    raise value  # what the child raised (a database error: an outage), not a death
                assert isinstance(value, BatchResult)
                return value
            raise AssertionError("unreachable")

    def _exchange(self, request: tuple[str, Any]) -> tuple[str, Any]:
        """(kind, value) of the child's reply: ("ok", result) or ("raised", exception)."""
        if self._conn is None:
            self.start()
        assert self._conn is not None
        if not self._ready:
            if not self._conn.poll(READY_TIMEOUT):
                raise EOFError(f"the storing process was not ready after {READY_TIMEOUT:.0f} s")
            kind, value = self._conn.recv()
            if kind == "raised":
                return kind, value  # it could not start (its rules, its database URL)
            self._ready = True
        self._conn.send(request)
        reply: tuple[str, Any] = self._conn.recv()
        return reply

    def close(self) -> None:
        """Let the child finish its batch and exit; stop it if it does not."""
        conn, child = self._conn, self._child
        self._conn = self._child = None
        if conn is not None:
            conn.close()
        if child is not None:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()  # it ignores SIGTERM (see _serve)
                child.join(timeout=5)


def _serve(conn: Connection, settings: Settings, rules_version: str | None) -> None:
    """The child: build the processor, then store each batch received until end-of-file."""
    # A Ctrl-C in a terminal, or a SIGTERM to the process group (systemd's default), reaches this
    # process too: its parent shuts down, and this one ends when the parent closes the pipe, after
    # its batch (not in the middle of a transaction, and never restarted by a parent shutting down).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Imported here: the worker's side needs none of the storing stack.
    from newsvigil.runtime.components import Components
    from newsvigil.runtime.heap import freeze_startup_objects
    from newsvigil.storage.database import make_engine, session_factory

    engine = None
    try:
        engine = make_engine(settings.database_url)  # the worker migrated the database already
        processor = Components(settings, engine, session_factory(engine)).processor()  # loads the rules
        if rules_version is not None and processor.rules.version != rules_version:
            raise RulesError(
                f"the rules in {settings.topics} changed since the process started "
                f"(now {processor.rules.version}, then {rules_version})",
                "restart it to use the new rules",
            )
    except Exception as exc:
        _send(conn, ("raised", exc))
        if engine is not None:
            engine.dispose()
        return
    freeze_startup_objects()
    _send(conn, ("ready", None))
    while True:
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):
            break  # the worker is gone
        try:
            result = processor.process(payload) if kind == "process" else _store(processor, payload)
            reply: tuple[str, Any] = ("ok", result)
        except Exception as exc:  # the worker decides: an outage is retried, anything else ends it
            reply = ("raised", exc)
        if not _send(conn, reply):
            break
    engine.dispose()


def _store(processor: Any, groups: Groups) -> BatchResult:
    result = BatchResult()
    for policy, detected in groups:
        part = processor.store(detected, alerts=policy)
        result.events += part.events
        result.failed += part.failed
        result.alerts += part.alerts
    return result


def _send(conn: Connection, reply: tuple[str, Any]) -> bool:
    """Send a reply; an exception that cannot be pickled is sent as its class and first line."""
    kind, value = reply
    if kind == "raised":
        try:
            pickle.dumps(value)
        except Exception:
            text = f"{value.__class__.__name__}: {first_line(value)}"
            value = StorageFailed(text) if isinstance(value, SQLAlchemyError) else RuntimeError(text)
    try:
        conn.send((kind, value))
    except (BrokenPipeError, OSError):
        return False
    return True
