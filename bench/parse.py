"""Benchmark: how many feed documents take the fast path (ingest/fastparse.py), why the others are
declined, and items/s of parse_feed with and without it, beside fastfeedparser.parse() alone.

Corpora: the repository's feeds (fixtures, samples, hostile documents), feeds rebuilt from the
real-news corpus, the feeds of fetched peer repositories (tests/ingest/feed_corpus.py), and
bench/replay.py's generated archive. Usage: python bench/parse.py [--archive 20000] [--reasons 8]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.replay import write_archive  # noqa: E402
from newsvigil.ingest.fastparse import decline_reason  # noqa: E402
from newsvigil.ingest.parse import parse_feed  # noqa: E402
from tests.ingest.feed_corpus import (  # noqa: E402
    PEERS,
    Document,
    peer_documents,
    real_news_documents,
    repository_documents,
)


def items_per_second(documents: list[Document], **options) -> float:
    started = time.perf_counter()
    items = sum(
        len(parse_feed(d.content, "https://bench.example/feed", content_type=d.content_type, **options).articles)
        for d in documents
    )
    return items / (time.perf_counter() - started)


def fastfeedparser_rate(documents: list[Document]) -> str:
    try:
        import fastfeedparser
    except ImportError:
        return "—"
    started, items = time.perf_counter(), 0
    for d in documents:
        with contextlib.suppress(Exception):  # its own errors on documents it refuses
            items += len(fastfeedparser.parse(d.content).get("entries") or [])
    return f"{items / (time.perf_counter() - started):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archive", type=int, default=20_000, help="items of the generated archive")
    parser.add_argument("--reasons", type=int, default=8, help="decline reasons listed per corpus")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        write_archive(Path(tmp), args.archive, max(1, args.archive // 100))
        generated = [Document(p.name, p.read_bytes()) for p in sorted(Path(tmp).iterdir())]
    corpora = {
        "repository": list(repository_documents()),
        "real-news": list(real_news_documents()),
        **{peer: list(peer_documents((peer,))) for peer in PEERS},
        "bench archive": generated,
    }
    print(f"{'corpus':28} {'docs':>6} {'fast':>6} {'items/s fast':>13} {'feedparser':>11} {'fastfeedparser':>15}")
    for name, documents in corpora.items():
        if not documents:
            print(f"{name:28} absent")
            continue
        reasons = Counter(decline_reason(d.content, d.content_type) for d in documents)
        fast = reasons.pop(None, 0)
        print(
            f"{name:28} {len(documents):6} {fast:6} {items_per_second(documents):13,.0f} "
            f"{items_per_second(documents, use_fast_path=False):11,.0f} {fastfeedparser_rate(documents):>15}"
        )
        for reason, count in reasons.most_common(args.reasons):
            print(f"    {count:5} declined: {reason}")


if __name__ == "__main__":
    main()
