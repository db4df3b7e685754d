"""The cyclic garbage collector's share of a busy process, kept small.

A process that has imported the storing stack (SQLAlchemy, the models, numpy, the rules) tracks about
150,000 objects that live as long as it does. Each full collection walks all of them: replaying
20,000 items ran five, about 0.8 s of a 5 s replay. Freezing what start-up made leaves it out of
every later walk (processes forked after inherit it), and a larger first generation makes the walks
of the objects each batch makes rarer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000  # allocations between collections of the youngest generation (Python's default: 700)


def freeze_startup_objects() -> None:
    """Leave every object alive now out of later collections, and collect young objects less often."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


@contextmanager
def frozen_startup_objects() -> Iterator[None]:
    """`freeze_startup_objects` for one command, undone after it: a process that goes on (a test
    session, a shell) collects as before. What was frozen before stays frozen: Python can only thaw
    everything, so nothing is thawed then."""
    threshold, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    freeze_startup_objects()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not frozen_before:
            gc.unfreeze()
