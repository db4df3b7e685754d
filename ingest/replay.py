"""Read archives for replay: RSS/Atom files (plain or .gz), WARC web archives holding feed
responses (warcio), and JSON-lines exports from `newsvigil export`; files or folders of them.

Every problem is reported with its path (and line or URL) and reason; the rest is still read.
Files are parsed in a process pool, each into a time-sorted run spilled to a temporary file with a
sparse index of its keys (an external sort). The keys each run samples then cut the archive's
time span into consecutive slices of about SLICE_ITEMS items: the pool merges each slice from the
runs and transforms it (detection), and slices are handed over in time order as they are done, so
the caller stores one slice while the pool prepares the next ones. Memory holds a few slices, not
the archive.
"""

from __future__ import annotations

import bisect
import gzip
import heapq
import json
import os
import pickle
import shutil
import tempfile
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice, pairwise
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from operator import itemgetter
from pathlib import Path
from typing import Any

from newsvigil.errors import ArchiveError
from newsvigil.ingest.parse import parse_feed
from newsvigil.records import Article

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".feed"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
WARC_SUFFIXES = {".warc"}
SLICE_ITEMS = 4000  # items per slice of the archive's time span (merged, transformed and handed over at once)
FIRST_SLICE_ITEMS = 500  # the first slice is small: the caller waits for it before storing anything
INDEX_EVERY = 64  # a run is written in chunks of 64 items, its index keeps the first key and offset of each
# A run also keeps a sample of its keys, each standing for the items up to the next: the slices'
# bounds are quantiles of those. The chunks' first keys alone are too few for short runs (a 100-item
# feed gives 2, both near its start), and left one slice with half the archive while the other
# process waited. A run of n items keeps about SAMPLE_KEYS of them, at most one per INDEX_EVERY items
# in a long run (memory stays a few MB per million items).
SAMPLE_KEYS = 16
TAKE_CHUNK = 256  # items per pickle of a transformed slice
# Largest feed document (or export line, or WARC record) read from an archive, once inflated: set per
# process by `_install` from NEWSVIGIL_MAX_ARCHIVE_BYTES (Settings.max_archive_bytes).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

# What each pool process applies to a file's articles (e.g. detection), built once per process
# by a picklable factory: the items of a run are whatever it returns, one per article.
Transform = Callable[[list[Article]], list[Any]]
_transform: Transform | None = None


@dataclass(slots=True)
class Rejected:
    path: str
    reason: str


@dataclass(slots=True)
class FileRead:
    """One archive file: its articles, or what was wrong with (parts of) it."""

    articles: list[Article] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


Key = tuple[datetime, str]  # (publication time, article id): the order items are replayed in


@dataclass(slots=True)
class _Run:
    path: str | None
    count: int
    skipped: int
    rejected: list[Rejected]
    index: list[tuple[Key, int]] = field(default_factory=list)  # (key, offset) of every INDEX_EVERY-th item
    sample: list[Key] = field(default_factory=list)  # every `sample_every`-th key
    sample_every: int = 1
    last: Key | None = None


def _kind(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in JSONL_SUFFIXES:
        return "jsonl"
    if last in WARC_SUFFIXES:
        return "warc"
    if last in FEED_SUFFIXES:
        return "feed"
    return None


def archive_files(paths: list[str]) -> Iterator[tuple[Path, str | None]]:
    """Files to replay under `paths` (folders recursively), with a reason for paths that cannot be read."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and _kind(child):
                    yield child, None
        elif path.is_file():
            yield path, None
        else:
            yield path, "no such file or folder"


def read_file(path: Path) -> FileRead:
    """Every article of one archive file, with what could not be read."""
    out = FileRead()
    kind = _kind(path) or "feed"
    if kind == "warc":
        _read_warc(path, out)
        return out
    try:
        if kind == "jsonl":
            _read_jsonl(path, out)
            return out
        data = _read_bounded(path, MAX_DOCUMENT_BYTES)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, DocumentTooLarge) as exc:
        out.rejected.append(Rejected(str(path), f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
        return out
    parsed = parse_feed(data, f"archive:{path.name.removesuffix('.gz')}", prefer_self_link=True)
    if parsed.error:
        out.rejected.append(Rejected(str(path), parsed.error))
    else:
        out.articles.extend(parsed.articles)
    return out


RUNS_PREFIX = "newsvigil-replay-"


def remove_stale_runs() -> list[str]:
    """Remove run folders of replays that died (kill -9, out of memory) without cleaning up: each
    folder names its process, and one whose process is gone is stale. Returns the folders removed."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{RUNS_PREFIX}*-*"):
        pid = folder.name[len(RUNS_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(str(folder))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class Archive:
    """Archives read into time-sorted runs, then streamed in publication order, filtered to [since, until)."""

    def __init__(
        self,
        paths: list[str],
        since: datetime | None = None,
        until: datetime | None = None,
        workers: int = 0,
        transform: tuple[Callable[..., Transform], tuple] | None = None,
        pool_min_bytes: int = 4 << 20,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        built: Transform | None = None,
    ) -> None:
        """`transform` is a picklable factory of the transform (called in spawned processes); `built`,
        when given, is the transform it makes, already made here: this process and forked ones use it."""
        self.paths, self.since, self.until = paths, since, until
        self.max_document_bytes = max_document_bytes
        self.workers = workers
        self.pool_min_bytes = pool_min_bytes  # smaller archives: starting processes costs more than it saves
        self.transform = transform
        self.built = built
        self.files = 0
        self.count = 0  # items in the window
        self.skipped = 0  # items outside --since/--until
        self.rejected: list[Rejected] = []
        remove_stale_runs()
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{RUNS_PREFIX}{os.getpid()}-")
        self._runs: list[_Run] = []
        self._pool: ProcessPoolExecutor | None = None
        self._started = False
        self._to_read: list[tuple] = []  # the arguments of `_spill` for each file `start` was given
        self._reading: list[Future] = []  # the pool's `_spill` of each of them, once started

    def list_files(self) -> list[Path]:
        """The files to read; paths that do not exist are rejected here."""
        files = []
        for path, problem in archive_files(self.paths):
            if problem:
                self.rejected.append(Rejected(str(path), problem))
            else:
                files.append(path)
        self.files = len(files)
        return files

    def read(self, files: list[Path] | None = None, on_file: Callable[[], None] | None = None) -> Archive:
        """Parse every file (in `workers` processes; 0 = in this one) into sorted runs on disk."""
        self.start(files)
        return self.finish(on_file)

    def start(self, files: list[Path] | None = None) -> None:
        """Start reading the files in the pool (when there is one), so that the caller can prepare
        its side (e.g. import the storage) while they are read; `finish` waits for them."""
        if self._started:
            raise RuntimeError("an Archive reads its files once")
        self._started = True
        files = self.list_files() if files is None else files
        args = [(str(p), self.since, self.until, str(Path(self._tmp.name, f"run-{i}"))) for i, p in enumerate(files)]
        self._to_read = args
        if self.workers > 0 and len(files) > 1 and sum(_size(p) for p in files) >= self.pool_min_bytes:
            # The pool lives on for the slices (see __iter__): its processes are all started here, forked
            # while this process still runs a single thread.
            context = _pool_context()
            if context.get_start_method() == "fork":
                # Forked processes inherit the transform made here (rules compiled once, not once per process).
                _install(self.transform, self.max_document_bytes, self.built)
                setup: dict[str, Any] = {}
            else:
                setup = {"initializer": _install, "initargs": (self.transform, self.max_document_bytes)}
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, **setup)
            self._reading = [self._pool.submit(_spill, *arg) for arg in args]

    def finish(self, on_file: Callable[[], None] | None = None) -> Archive:
        """Wait for the files `start` began reading (read them here when there is no pool)."""
        to_read, self._to_read = self._to_read, []
        reading, self._reading = self._reading, []
        if self._pool is None:
            _install(self.transform, self.max_document_bytes, self.built)
            for arg in to_read:
                self._add(_spill(*arg), on_file)
            return self
        try:
            for future in reading:  # in file order: runs, and so ties between equal keys, do not depend on timing
                self._add(future.result(), on_file)
        except BrokenProcessPool:
            raise ArchiveError("a replay process died while reading the archives (out of memory?)") from None
        return self

    def _add(self, run: _Run, on_file: Callable[[], None] | None) -> None:
        self.count += run.count
        self.skipped += run.skipped
        self.rejected.extend(run.rejected)
        if run.path:
            self._runs.append(run)
        if on_file:
            on_file()

    def slices(self) -> list[tuple[Key | None, Key | None]]:
        """Consecutive [low, high) key ranges covering every run (None: an open end): the first of
        about FIRST_SLICE_ITEMS items, so that storing starts early, then doubling up to SLICE_ITEMS."""
        sample = sorted(
            (key, min(run.sample_every, run.count - number * run.sample_every))  # (key, items it stands for)
            for run in self._runs
            for number, key in enumerate(run.sample)
        )
        bounds: list[Key | None] = [None]
        size, filled = FIRST_SLICE_ITEMS, 0
        for key, items in sample:
            if filled >= size:
                bounds.append(key)
                size, filled = min(2 * size, SLICE_ITEMS), 0
            filled += items
        bounds.append(None)
        return [(low, high) for low, high in pairwise(bounds) if low is None or low != high]

    def __iter__(self) -> Iterator[Any]:
        """Every item, oldest first (ties broken by article id); slices are prepared ahead in the pool."""
        jobs = [self._job(number, low, high) for number, (low, high) in enumerate(self.slices())]
        if self._pool is None:
            for job in jobs:
                yield from _take(_slice(*job))
            return
        pool, waiting = self._pool, iter(jobs)
        # Up to `workers` slices ahead of the one being consumed: the pool stays busy, memory stays flat.
        ahead: deque[Future] = deque(pool.submit(_slice, *job) for job in islice(waiting, self.workers + 1))
        try:
            while ahead:
                done = ahead.popleft().result()
                for job in islice(waiting, 1):
                    ahead.append(pool.submit(_slice, *job))
                yield from _take(done)
        except BrokenProcessPool:
            raise ArchiveError("a replay process died while reading the archives (out of memory?)") from None
        finally:
            for future in ahead:
                future.cancel()

    def _job(self, number: int, low: Key | None, high: Key | None) -> tuple:
        """What the slice [low, high) reads: each run holding such keys, from the offset to start at."""
        parts = []
        for run in self._runs:
            assert run.path and run.last
            if (low is not None and run.last < low) or (high is not None and run.index[0][0] >= high):
                continue
            # From the last indexed item before `low`: every item before that one is older.
            start = 0 if low is None else max(bisect.bisect_left(run.index, low, key=itemgetter(0)) - 1, 0)
            parts.append((run.path, run.index[start][1]))
        return parts, low, high, str(Path(self._tmp.name, f"slice-{number}"))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        self._tmp.cleanup()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _pool_context() -> BaseContext:
    """How reading processes start: forked when this process runs a single thread (they inherit its
    imports and rules instead of spending about 2 s importing them again), spawned otherwise, since
    forking a process with threads can copy a lock another thread holds."""
    return get_context("fork" if threading.active_count() == 1 else "spawn")


def _install(
    transform: tuple[Callable[..., Transform], tuple] | None,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
    built: Transform | None = None,
) -> None:
    global _transform, MAX_DOCUMENT_BYTES
    if built is not None:
        _transform = built
    else:
        _transform = transform[0](*transform[1]) if transform else None
    MAX_DOCUMENT_BYTES = max_document_bytes


def _spill(path: str, since: datetime | None, until: datetime | None, run_path: str) -> _Run:
    """Read one file, keep its articles in the window, sort them and write them as an indexed run."""
    read = read_file(Path(path))
    kept = [a for a in read.articles if (not since or a.when >= since) and (not until or a.when < until)]
    kept.sort(key=_key)
    run = _Run(run_path if kept else None, len(kept), len(read.articles) - len(kept), read.rejected)
    if kept:
        with open(run_path, "wb") as stream:
            # One pickle per INDEX_EVERY items, each indexed: a third of the cost of one per item
            # (repeated objects such as the UTC zone are written once per chunk).
            for start in range(0, len(kept), INDEX_EVERY):
                run.index.append((_key(kept[start]), stream.tell()))
                pickle.dump(kept[start : start + INDEX_EVERY], stream, protocol=pickle.HIGHEST_PROTOCOL)
        run.sample_every = max(1, min(INDEX_EVERY, len(kept) // SAMPLE_KEYS))
        run.sample = [_key(article) for article in kept[:: run.sample_every]]
        run.last = _key(kept[-1])
    return run


def _key(article: Article) -> Key:
    return article.when, article.id


def _slice(parts: list[tuple[str, int]], low: Key | None, high: Key | None, out: str) -> str:
    """Merge the items with keys in [low, high) from the runs (each read from its offset), transform
    them and write them to `out`."""
    ranges = [list(_read_range(path, offset, low, high)) for path, offset in parts]
    merged = list(heapq.merge(*ranges, key=_key))
    items = _transform(merged) if _transform else merged
    with open(out, "wb") as stream:
        for start in range(0, len(items), TAKE_CHUNK):
            pickle.dump(items[start : start + TAKE_CHUNK], stream, protocol=pickle.HIGHEST_PROTOCOL)
    return out


def _read_range(path: str, offset: int, low: Key | None, high: Key | None) -> Iterator[Article]:
    with open(path, "rb") as stream:
        stream.seek(offset)
        while True:
            try:
                chunk = pickle.load(stream)
            except EOFError:
                return
            for article in chunk:
                key = _key(article)
                if high is not None and key >= high:
                    return
                if low is None or key >= low:
                    yield article


def _take(path: str) -> Iterator[Any]:
    """The items of a finished slice, read as they are consumed; its file is removed after."""
    try:
        with open(path, "rb", buffering=1 << 16) as stream:
            while True:
                try:
                    yield from pickle.load(stream)
                except EOFError:
                    return
    finally:
        Path(path).unlink()


def _read_jsonl(path: Path, out: FileRead) -> None:
    """`newsvigil export` lines ({"article": {...}, ...}) or bare article objects, read line by line
    (an export may be large; a line longer than MAX_DOCUMENT_BYTES is rejected, not held whole)."""
    with _open(path) as stream:
        for number, raw in enumerate(iter(lambda: stream.readline(MAX_DOCUMENT_BYTES + 1), b""), start=1):
            if len(raw) > MAX_DOCUMENT_BYTES:
                out.rejected.append(Rejected(f"{path}:{number}", f"line longer than {MAX_DOCUMENT_BYTES:,} bytes"))
                rest = raw
                while rest and not rest.endswith(b"\n"):
                    rest = stream.readline(MAX_DOCUMENT_BYTES + 1)
                continue
            line = raw.decode("utf-8", "replace")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                payload = record.get("article", record) if isinstance(record, dict) else None
                if not isinstance(payload, dict) or not payload.get("id"):
                    raise ValueError("not an article record (needs an object with an 'id')")
                out.articles.append(Article.from_json(payload))
            except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
                out.rejected.append(Rejected(f"{path}:{number}", str(exc) or exc.__class__.__name__))


class DocumentTooLarge(ValueError):
    """An archived document inflates past MAX_DOCUMENT_BYTES."""


def _open(path: Path):
    """The file, inflated as it is read when it is gzipped."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _read_bounded(path: Path, limit: int) -> bytes:
    """A whole document, inflated when gzipped, refused past `limit` bytes: a small .gz must not cost
    hundreds of MB (the cap fetching has too)."""
    with _open(path) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise DocumentTooLarge(
            f"more than {limit:,} bytes once inflated (raise NEWSVIGIL_MAX_ARCHIVE_BYTES to read it)"
        )
    return data


def _read_warc(path: Path, out: FileRead) -> None:
    """Feed responses in a WARC (plain or gzipped); other responses are listed as rejected."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        with path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                if record.rec_type != "response":
                    continue
                uri = record.rec_headers.get_header("WARC-Target-URI") or f"archive:{path.name}"
                status = record.http_headers.get_statuscode() if record.http_headers else "200"
                body = record.content_stream().read(MAX_DOCUMENT_BYTES + 1)
                if len(body) > MAX_DOCUMENT_BYTES:
                    out.rejected.append(
                        Rejected(f"{path}#{uri}", f"archived response larger than {MAX_DOCUMENT_BYTES:,} bytes")
                    )
                    continue
                if getattr(record.raw_stream, "limit", 0):
                    raise EOFError(f"record {uri} ends early")  # warcio itself returns a short body
                if status != "200":
                    out.rejected.append(Rejected(f"{path}#{uri}", f"archived response has HTTP status {status}"))
                    continue
                content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
                parsed = parse_feed(body, uri, content_type=content_type)
                if parsed.error:
                    out.rejected.append(Rejected(f"{path}#{uri}", parsed.error))
                else:
                    out.articles.extend(parsed.articles)
            size = path.stat().st_size
            if records.offset < size:  # warcio stops quietly at a header cut short
                raise EOFError(f"{size - records.offset} bytes after the last complete record")
    except (ArchiveLoadFailed, EOFError, zlib.error, OSError, ValueError) as exc:
        out.rejected.append(Rejected(str(path), f"truncated or corrupt WARC: {exc}"))
