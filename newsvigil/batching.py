"""Cutting a stream into lists of at most `size` items (itertools.batched arrives in Python 3.12)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

SQL_CHUNK = 500  # values per IN (...) or rows per statement: under SQLite's bound-parameter limit


def batched(items: Iterable[T], size: int = SQL_CHUNK) -> Iterator[list[T]]:
    """Consecutive lists of `size` items from `items`, the last one shorter."""
    if size < 1:
        raise ValueError("size must be at least 1")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
