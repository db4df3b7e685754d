"""Kafka mode in one process, for small deployments: the faust worker plus a polling task."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

import faust

from newsvigil.processors.kafka_topics import articles_lag
from newsvigil.records import Event
from newsvigil.runtime.components import Components, kafka_publisher
from newsvigil.runtime.heap import freeze_startup_objects
from newsvigil.runtime.monitor import OnCycle, publishing_monitor
from newsvigil.runtime.worker import build_app
from newsvigil.settings import Settings

log = logging.getLogger("newsvigil.combined")


def run_combined(
    components: Components, once: bool, on_cycle: OnCycle, on_events: Callable[[list[Event]], None] | None = None
) -> None:
    """Run ingest and a worker together; with `once`, stop after one cycle is fully processed."""
    settings = components.settings
    app = build_app(components, on_events)
    freeze_startup_objects()  # before the monitor's threads make their first objects
    monitor = publishing_monitor(components, kafka_publisher(settings)).start()

    @app.task
    async def poll() -> None:
        await monitor.run(once, on_cycle, settle=lambda: _drained(settings))
        if once:
            os.kill(os.getpid(), signal.SIGTERM)  # the worker's own clean shutdown path

    worker = faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        monitor.close()


async def _drained(settings: Settings, timeout: float = 120.0) -> None:
    """Wait until the worker group has committed everything published to the articles topic."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(articles_lag, settings) == 0:
            return
        await asyncio.sleep(0.5)
    log.warning("gave up waiting for the worker to drain after %.0f s", timeout)
