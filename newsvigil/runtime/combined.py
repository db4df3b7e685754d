"""Kafka mode in one process, for small deployments: the faust worker plus a polling task."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

import faust

from newsvigil.ingest.publish import KafkaPublisher
from newsvigil.processors.kafka_topics import articles_lag
from newsvigil.runtime.monitor import Monitor
from newsvigil.runtime.worker import build_app
from newsvigil.settings import Settings

log = logging.getLogger("newsvigil.combined")


def run_combined(settings: Settings, once: bool, on_cycle: Callable, on_event: Callable | None = None) -> None:
    """Run ingest and a worker together; with `once`, stop after one cycle is fully processed."""
    app = build_app(settings, on_event)
    monitor = Monitor(
        settings,
        publisher=KafkaPublisher(settings.kafka_servers, settings.bus_topic("articles"), settings.kafka_send_timeout),
    )

    @app.task
    async def poll() -> None:
        number = 0
        while True:
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                reports = await monitor.cycle(due_only=not once)
                if once:
                    await _drained(settings)
                if reports or once:
                    number += 1
                    on_cycle(number, reports, loop.time() - started)
                if once:
                    os.kill(os.getpid(), signal.SIGTERM)  # the worker's own clean shutdown path
                    return
                wait = await asyncio.to_thread(monitor.idle_seconds)
                monitor.outage.ok()
            except Exception as exc:  # a database outage delays polling, never ends the process (told once)
                if once:
                    raise
                wait = monitor.outage.failed(exc)
            await asyncio.sleep(wait)

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
