"""Benchmark: newsvigil beside its peers (reader 3.26) and the floors, on the same work, in one run.

Works, each measured --runs times per system, the systems taking turns (best and median reported):
  first poll   --feeds local feeds (bench/poll.py's farm: aiohttp on --hosts loopback hosts 127.0.0.x), all
               answering 200 with --items new items each. newsvigil: the real poll cycle into a fresh
               SQLite file, the real ArticleProcessor storing (what `newsvigil run --once` does);
               reader: make_reader(fresh file), add_feed() each, update_feeds_iter(workers=N);
               floor: one httpx.AsyncClient, the same concurrency, feedparser.parse() only.
  second poll  the same feeds again with the validators of the first poll: the odd half answers 304,
               the even half 200 with 2 new items (the farm's "mixed" mode).
  replay       --archive items in --files RSS files on disk (bench/replay.py's generator).
               newsvigil: `newsvigil replay FOLDER` (embedded, fresh SQLite, default --workers);
               reader: make_reader(fresh file, feed_root=FOLDER), file: feed URLs, update_feeds_iter();
               floors: feedparser.parse() over the files, and fastfeedparser.parse() when installed.
  detect       --articles generated articles (bench/detect.py's generator) through newsvigil's
               detect(), once identifying languages and once with each article's language given;
               floor: one regex of every topic term in seeds/topics.yaml, findall() over the same
               texts. reader has no equivalent ("—").

Every measurement runs in a fresh child process (its own imports, database and peak RSS); set-up
(schema, add_feed, generating articles, warming up) is outside the timed part. Each figure carries
the 1-minute load average read just before it: the machine may be shared, the ratios matter.
Progress goes to stderr, the table to stdout. Needs the bench extra: pip install -e '.[bench]'.
Usage: python bench/peers.py [--quick] [--runs 3] [--feeds 1000] [--items 10] [--archive 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULT = "PEERS-RESULT "  # prefix of the line a child prints its result on (the CLI may print too)
CHILD_TIMEOUT = 1800  # seconds one measurement may take before it is abandoned

# row -> (work, unit, newsvigil's system, floors as (system, name)), in table order
ROWS = {
    "first poll": ("poll", "feeds/s", "newsvigil", [("floor", "httpx+feedparser")]),
    "second poll": ("poll", "feeds/s", "newsvigil", [("floor", "httpx+feedparser")]),
    "replay": ("replay", "items/s", "newsvigil", [("feedparser", "feedparser"), ("fastfeedparser", "fastfeedparser")]),
    "detect, languages identified": ("detect", "articles/s", "newsvigil", [("regex", "regex")]),
    "detect, lang given": ("detect", "articles/s", "newsvigil-lang", [("regex", "regex")]),
}
# work -> its systems, in the order they take turns in each run
SYSTEMS = {
    "poll": ["newsvigil", "reader", "floor"],
    "replay": ["newsvigil", "reader", "feedparser", "fastfeedparser"],
    "detect": ["newsvigil", "newsvigil-lang", "regex"],
}


# ---------------------------------------------------------------- children: one measurement each


def peak_rss_mb() -> float:
    """The peak RSS of this process or of the largest child it waited for (replay's pool), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def load1() -> float:
    return os.getloadavg()[0]


def cpu_seconds() -> float:
    """CPU time of this process (every thread) and of the children it waited for (replay's pool)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def poll_newsvigil(spec: dict) -> dict:
    from bench.poll import embedded_pipeline, farm_settings, feed_urls, one_cycle
    from newsvigil.ingest.feeds import FeedSource

    settings = farm_settings(f"sqlite:///{spec['tmp']}/newsvigil.db", spec["concurrency"])
    components, publisher = embedded_pipeline(settings)
    sessions = components.sessions
    feeds = [FeedSource(url) for url in feed_urls(spec["feeds"], spec["hosts"], spec["port"])]
    result = {}
    for label in ("first poll", "second poll"):
        load = load1()
        reports, seconds, cpu = asyncio.run(one_cycle(feeds, sessions, publisher, settings, spec["server_pid"]))
        statuses = Counter(r.status for r in reports)
        result[label] = {
            "seconds": seconds,
            "cpu": cpu,
            "load": load,
            "count": len(feeds),
            "new": sum(r.new for r in reports),
            "200": statuses[200],
            "304": statuses[304],
            "errors": sum(bool(r.error) for r in reports),
        }
    publisher.close()
    components.close()
    return result


def poll_reader(spec: dict) -> dict:
    from reader import make_reader

    from bench.poll import feed_urls

    reader = make_reader(f"{spec['tmp']}/reader.sqlite")
    for url in feed_urls(spec["feeds"], spec["hosts"], spec["port"]):
        reader.add_feed(url)
    result = {}
    for label in ("first poll", "second poll"):
        load = load1()
        wall, cpu = time.perf_counter(), cpu_seconds()
        # update_feeds() is this loop; the iterator also says which feeds were not modified (None)
        # scheduled=False: reader 3.21+ skips feeds polled less than their interval ago otherwise
        outcomes = Counter(
            "304" if r.value is None else "errors" if isinstance(r.value, Exception) else "200"
            for r in reader.update_feeds_iter(scheduled=False, workers=spec["workers"])
        )
        seconds, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        new = reader.get_entry_counts().total - sum(v.get("new", 0) for v in result.values())
        result[label] = {"seconds": seconds, "cpu": cpu, "load": load, "count": spec["feeds"], "new": new} | outcomes
    reader.close()
    return result


def poll_floor(spec: dict) -> dict:
    import feedparser
    import httpx

    from bench.poll import feed_urls

    urls = feed_urls(spec["feeds"], spec["hosts"], spec["port"])
    etags: dict[str, str] = {}

    async def cycle() -> list[tuple[int, int]]:
        limit = asyncio.Semaphore(spec["concurrency"])
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)  # newsvigil's pool
        async with httpx.AsyncClient(limits=limits, timeout=20, trust_env=False) as client:

            async def one(url: str) -> tuple[int, int]:
                async with limit:
                    response = await client.get(url, headers={"If-None-Match": etags[url]} if url in etags else {})
                    if response.status_code != 200:
                        return response.status_code, 0
                    if "etag" in response.headers:
                        etags[url] = response.headers["etag"]
                    return 200, len(feedparser.parse(response.content).entries)

            return await asyncio.gather(*(one(url) for url in urls))

    result = {}
    for label in ("first poll", "second poll"):
        load = load1()
        wall, cpu = time.perf_counter(), cpu_seconds()
        answers = asyncio.run(cycle())
        seconds, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        statuses = Counter(status for status, _ in answers)
        result[label] = {
            "seconds": seconds,
            "cpu": cpu,
            "load": load,
            "count": len(urls),
            "parsed": sum(n for _, n in answers),
            "200": statuses[200],
            "304": statuses[304],
        }
    return result


def replay_newsvigil(spec: dict) -> dict:
    import sqlite3

    database = f"{spec['tmp']}/newsvigil.db"
    os.environ["NEWSVIGIL_DATABASE_URL"] = f"sqlite:///{database}"
    # what the command imports when it runs, imported before the clock starts
    import newsvigil.ingest.replay
    import newsvigil.processors.pipeline
    import newsvigil.runtime.components  # noqa: F401
    from newsvigil.cli.main import app
    from newsvigil.storage.migrate import upgrade

    upgrade(os.environ["NEWSVIGIL_DATABASE_URL"])
    load = load1()
    wall, cpu = time.perf_counter(), cpu_seconds()
    code = app(["replay", spec["folder"]], standalone_mode=False)
    seconds, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    return {"replay": {"seconds": seconds, "cpu": cpu, "load": load, "count": stored, "exit": code or 0}}


def replay_reader(spec: dict) -> dict:
    from reader import make_reader

    folder = Path(spec["folder"])
    reader = make_reader(f"{spec['tmp']}/reader.sqlite", feed_root=str(folder))
    for path in sorted(folder.iterdir()):
        reader.add_feed(f"file:{path.name}")
    load = load1()
    wall, cpu = time.perf_counter(), cpu_seconds()
    errors = sum(isinstance(r.value, Exception) for r in reader.update_feeds_iter(scheduled=False, workers=1))
    seconds, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    stored = reader.get_entry_counts().total
    reader.close()
    return {"replay": {"seconds": seconds, "cpu": cpu, "load": load, "count": stored, "errors": errors}}


def replay_parser(spec: dict) -> dict:
    if spec["system"] == "fastfeedparser":
        from fastfeedparser import parse
    else:
        from feedparser import parse
    paths = sorted(Path(spec["folder"]).iterdir())
    load = load1()
    wall, cpu = time.perf_counter(), cpu_seconds()
    parsed = sum(len(parse(path.read_bytes()).entries) for path in paths)
    seconds, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"replay": {"seconds": seconds, "cpu": cpu, "load": load, "count": parsed}}


DETECT_BATCH = 500  # the pipeline's batches: the worker's BATCH, the embedded publisher's batch


def detect_newsvigil(spec: dict) -> dict:
    """Detection as the pipeline runs it: `detect_articles` over batches (languages identified in one
    walk per batch; no story signatures, which are clustering's, not detection's)."""
    from bench.detect import make_articles
    from newsvigil.processors.detect import detect, detect_articles
    from newsvigil.processors.rules import load_rules
    from newsvigil.runtime.heap import freeze_startup_objects

    given = spec["system"] == "newsvigil-lang"
    rules = load_rules(ROOT / "seeds" / "topics.yaml")
    # As newsvigil's detecting processes start (replay's pool, the storing process, the Kafka worker):
    # what start-up made frozen out of the cyclic collector's walks; the articles are not.
    freeze_startup_objects()
    articles = make_articles(spec["articles"], lang_given=given)
    detect(articles[0], rules)  # warm-up: the language model loads
    load = load1()
    wall, cpu = time.perf_counter(), cpu_seconds()
    found = 0
    for first in range(0, len(articles), DETECT_BATCH):
        batch = detect_articles(articles[first : first + DETECT_BATCH], rules, signatures=False)
        found += sum(bool(d.topics) for _, d in batch if not isinstance(d, str))
    seconds, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    row = "detect, lang given" if given else "detect, languages identified"
    return {row: {"seconds": seconds, "cpu": cpu, "load": load, "count": len(articles), "on topic": found}}


def topic_regex(path: Path) -> re.Pattern[str]:
    """One case-insensitive regex of every topic's terms (terms, capitalized, exact) in a rules file;
    a `*` in a term is any word ending (or start), as in the rules."""
    import yaml

    words = set()
    for topic in yaml.safe_load(path.read_text(encoding="utf-8"))["topics"].values():
        for key in ("terms", "capitalized", "exact"):
            words.update(str(term).lower() for term in topic.get(key) or ())
    alternatives = sorted((re.escape(w).replace(r"\*", r"\w*") for w in words), key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)", re.IGNORECASE)


def detect_regex(spec: dict) -> dict:
    from bench.detect import make_articles

    pattern = topic_regex(ROOT / "seeds" / "topics.yaml")
    articles = make_articles(spec["articles"])
    load = load1()
    wall, cpu = time.perf_counter(), cpu_seconds()
    found = sum(bool(pattern.findall(a.text)) for a in articles)
    seconds, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    figure = {"seconds": seconds, "cpu": cpu, "load": load, "count": len(articles), "on topic": found}
    # the same texts serve both detect rows: the regex does not care about languages
    return {"detect, languages identified": figure, "detect, lang given": figure}


CHILDREN = {
    ("poll", "newsvigil"): poll_newsvigil,
    ("poll", "reader"): poll_reader,
    ("poll", "floor"): poll_floor,
    ("replay", "newsvigil"): replay_newsvigil,
    ("replay", "reader"): replay_reader,
    ("replay", "feedparser"): replay_parser,
    ("replay", "fastfeedparser"): replay_parser,
    ("detect", "newsvigil"): detect_newsvigil,
    ("detect", "newsvigil-lang"): detect_newsvigil,
    ("detect", "regex"): detect_regex,
}


def child(spec: dict) -> None:
    result = CHILDREN[spec["work"], spec["system"]](spec)
    for figure in result.values():
        figure["rss_mb"] = peak_rss_mb()
    sys.stdout.flush()
    print(RESULT + json.dumps(result), flush=True)


# ---------------------------------------------------------------- the parent: runs, table


def measure(spec: dict) -> dict | None:
    """One measurement in a fresh process; None (and the reason on stderr) when it failed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(spec | {"tmp": tmp})],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                timeout=CHILD_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            print(f"  {spec['system']} {spec['work']}: gave up after {CHILD_TIMEOUT} s", file=sys.stderr)
            return None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT) :])
    tail = (done.stderr or done.stdout).strip()[-1500:]
    print(f"  {spec['system']} {spec['work']} failed (exit {done.returncode}):\n{tail}", file=sys.stderr)
    return None


def describe(figure: dict) -> str:
    details = ", ".join(
        f"{k} {v:,}" for k, v in figure.items() if k not in {"seconds", "cpu", "load", "rss_mb"} and v != 0
    )
    return f"{figure['seconds']:.2f} s, load {figure['load']:.2f}, {details}"


def fmt(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:,.1f}"


def cell(figures: list[dict], unit: str, label: str = "") -> list[str]:
    """best / median, then CPU and peak RSS, then the load range; several lines."""
    if not figures:
        return [f"{label}{': ' if label else ''}failed"]
    rates = [f["count"] / f["seconds"] for f in figures]
    loads = [f["load"] for f in figures]
    cpu = statistics.median(f["cpu"] for f in figures)
    rss = max(f["rss_mb"] for f in figures)
    lines = [f"{label}{': ' if label else ''}{fmt(max(rates))} / {fmt(statistics.median(rates))} {unit}"]
    lines.append(f"cpu {cpu:.2f} s, peak {rss:.0f} MB")
    lines.append(f"load {min(loads):.2f}-{max(loads):.2f}" if len(loads) > 1 else f"load {loads[0]:.2f}")
    return lines


def ratio(mine: list[dict], theirs: list[dict]) -> list[str]:
    if not mine or not theirs:
        return ["—"]
    a = [f["count"] / f["seconds"] for f in mine]
    b = [f["count"] / f["seconds"] for f in theirs]
    # CPU per unit of work moves less than wall time on a shared machine
    cpu = statistics.median(f["cpu"] / f["count"] for f in theirs) / statistics.median(
        f["cpu"] / f["count"] for f in mine
    )
    return [f"{max(a) / max(b):.2f} / {statistics.median(a) / statistics.median(b):.2f}", f"by cpu: {cpu:.2f}"]


def render(rows: list[list[list[str]]]) -> str:
    """A plain table whose cells may span several lines."""
    widths = [max(len(line) for row in rows for line in row[c]) for c in range(len(rows[0]))]
    out = []
    for number, row in enumerate(rows):
        for i in range(max(len(c) for c in row)):
            out.append(" | ".join((c[i] if i < len(c) else "").ljust(w) for c, w in zip(row, widths, strict=True)))
        if number == 0 or number < len(rows) - 1:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in out)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, metavar="N", help="runs per system and work (default 3)")
    parser.add_argument("--feeds", type=int, default=1000, metavar="N", help="feeds polled (default 1000)")
    parser.add_argument(
        "--items",
        type=int,
        default=10,
        metavar="N",
        help="items per feed document: all new on the first poll; a changed feed brings 2 new ones (default 10)",
    )
    parser.add_argument(
        "--hosts", type=int, default=50, metavar="N", help="loopback hosts 127.0.0.1..N of the farm (default 50)"
    )
    parser.add_argument(
        "--port", type=int, default=18491, metavar="P", help="the farm's port on every host (default 18491)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        metavar="N",
        help="feeds fetched at once by newsvigil (2 per host) and the floor (default 32)",
    )
    parser.add_argument(
        "--reader-workers",
        type=int,
        default=8,
        metavar="N",
        help="reader's update_feeds workers (threads fetching; reader parses and stores in one thread) when "
        "polling; replay uses 1. Default 8: 1 waits on every round trip, 4 to 32 measured the same",
    )
    parser.add_argument(
        "--archive", type=int, default=20_000, metavar="N", help="items in the replayed archive (default 20000)"
    )
    parser.add_argument(
        "--files", type=int, default=200, metavar="N", help="RSS files the archive is split into (default 200)"
    )
    parser.add_argument("--articles", type=int, default=20_000, metavar="N", help="articles detected (default 20000)")
    parser.add_argument(
        "--works",
        default="poll,replay,detect",
        metavar="LIST",
        help="which works to measure, comma-separated among poll, replay, detect (default all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run (overrides those sizes): 1 run, 100 feeds, a 2,000-item archive in 20 files, 2,000 articles",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one measurement, as JSON
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    if args.quick:
        args.runs, args.feeds, args.archive, args.files, args.articles = 1, 100, 2000, 20, 2000
    works = [w.strip() for w in args.works.split(",") if w.strip()]
    unknown = set(works) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown work(s): {', '.join(sorted(unknown))}")
    for module in ("reader", "sgmllib"):  # reader's own copy of feedparser needs sgmllib (sgmllib3k)
        if not has(module):
            parser.error(f"{module} is not installed: pip install -e '.[bench]'")
    systems = {w: list(SYSTEMS[w]) for w in works}
    if "replay" in systems and not has("fastfeedparser"):
        systems["replay"].remove("fastfeedparser")
        print("fastfeedparser is not installed: its floor is left out", file=sys.stderr)

    started = uptime()
    print(f"start: {started}", file=sys.stderr)
    figures: dict[tuple[str, str], list[dict]] = {}  # (row, system) -> one figure per run
    checks: dict[tuple[str, str], str] = {}  # (row, system) -> what the last run did

    def record(system: str, result: dict | None) -> None:
        for row, figure in (result or {}).items():
            figures.setdefault((row, system), []).append(figure)
            checks[row, system] = describe(figure)
            print(f"    {row}: {system} {describe(figure)}", file=sys.stderr)

    def turns(work: str, spec: dict) -> None:
        for run in range(1, args.runs + 1):
            for system in systems[work]:
                print(f"  {work} run {run}/{args.runs}: {system}", file=sys.stderr)
                record(system, measure(spec | {"work": work, "system": system}))

    from bench.poll import start_feed_server
    from bench.replay import write_archive

    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        if "poll" in systems:
            print(f"poll: {args.feeds} feeds x {args.items} items, farm on {args.hosts} hosts", file=sys.stderr)
            server, _mode = start_feed_server(Path(tmp), args.port, args.hosts, args.items)
            try:
                turns(
                    "poll",
                    {
                        "feeds": args.feeds,
                        "hosts": args.hosts,
                        "port": args.port,
                        "concurrency": args.concurrency,
                        "workers": args.reader_workers,
                        "server_pid": server.pid,
                    },
                )
            finally:
                server.terminate()
                server.wait()
        if "replay" in systems:
            folder = Path(tmp) / "archive"
            folder.mkdir()
            write_archive(folder, args.archive, args.files)
            print(f"replay: {args.archive} items in {args.files} files", file=sys.stderr)
            turns("replay", {"folder": str(folder)})
        if "detect" in systems:
            print(f"detect: {args.articles} articles", file=sys.stderr)
            turns("detect", {"articles": args.articles})
    finished = uptime()
    print(f"end: {finished}", file=sys.stderr)

    labels = {
        "first poll": f"first poll: {args.feeds:,} feeds, all 200, {args.feeds * args.items:,} new items",
        "second poll": f"second poll: {args.feeds // 2:,} x 304, {args.feeds - args.feeds // 2:,} x 200 with 2 new items",
        "replay": f"replay: {args.archive:,} items in {args.files} RSS files",
        "detect, languages identified": f"detect: {args.articles:,} articles, languages identified",
        "detect, lang given": f"detect: {args.articles:,} articles, lang given",
    }
    table = [[["work"], ["newsvigil"], [f"reader {_version('reader')}"], ["floor"], ["newsvigil/reader"]]]
    for row, (work, unit, mine, floors) in ROWS.items():
        if work not in systems:
            continue
        nv, rd = figures.get((row, mine), []), figures.get((row, "reader"), [])
        floor_lines = []
        for system, name in floors:
            if system in systems[work]:
                floor_lines += cell(figures.get((row, system), []), unit, name)
        reader_lines = cell(rd, unit) if "reader" in systems[work] else ["—"]
        table.append([[labels[row]], cell(nv, unit), reader_lines, floor_lines, ratio(nv, rd)])
    print(
        f"newsvigil beside reader and the floors: best / median of {args.runs} run(s) each; "
        "cpu = median CPU seconds of the timed part (every thread of the measuring process and its children), "
        "peak = peak RSS of that process (or of its largest child); load = 1-minute load average before each run; "
        "ratio = newsvigil rate / reader rate (above 1: newsvigil is faster), best / median, "
        "and reader's median CPU per unit / newsvigil's (above 1: newsvigil uses less CPU)"
    )
    print(f"start: {started}\nend:   {finished}\n")
    print(render(table))
    print("\nwhat each system did (last run):")
    order = {row: i for i, row in enumerate(ROWS)}
    for (row, system), text in sorted(
        checks.items(), key=lambda kv: (order[kv[0][0]], SYSTEMS[ROWS[kv[0][0]][0]].index(kv[0][1]))
    ):
        print(f"  {row}, {system}: {text}")


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "(not installed)"


if __name__ == "__main__":
    main()
