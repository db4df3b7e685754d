"""Kafka mode in one process, for small deployments: the faust worker plus a polling task."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

import faust

from ingest.publish import KafkaPublisher
from newsvigil.settings import Settings
from processors.embedded import Monitor
from processors.worker import build_app

log = logging.getLogger("newsvigil.combined")


def run_combined(settings: Settings, once: bool, on_cycle: Callable) -> None:
    """Run ingest and a worker together; with `once`, stop after one cycle is fully processed."""
    app = build_app(settings)
    monitor = Monitor(settings, publisher=KafkaPublisher(settings.kafka_servers, settings.bus_topic("articles"),
                                                               settings.kafka_send_timeout))

    @app.task
    async def poll() -> None:
        number = 0
        while True:
            number += 1
            loop = asyncio.get_running_loop()
            started = loop.time()
            reports = await monitor.cycle()
            on_cycle(number, reports, loop.time() - started)
            if once:
                await _drained(app, settings)
                await app.stop()
                return
            await asyncio.sleep(settings.poll_interval)

    worker = faust.Worker(app, loglevel="warning", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        monitor.close()


async def _drained(app: faust.App, settings: Settings, timeout: float = 120.0) -> None:
    """Wait until the worker has committed everything published to the articles topic."""
    topic = settings.bus_topic("articles")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        assigned = [tp for tp in app.consumer.assignment() if tp.topic == topic]
        if assigned:
            committed = {tp: app.consumer._committed_offset.get(tp) or 0 for tp in assigned}  # noqa: SLF001
            highwaters = {tp: app.consumer.highwater(tp) or 0 for tp in assigned}
            if all(committed[tp] >= highwaters[tp] for tp in assigned):
                return
        await asyncio.sleep(0.5)
    log.warning("gave up waiting for the worker to drain after %.0f s", timeout)
