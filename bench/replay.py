"""Benchmark: replay an archive of N items across F feed files in the embedded mode.

Generates original RSS files (a mix of on-topic reports with figures and ordinary news in several
languages), replays them with `newsvigil replay` into a fresh SQLite file, and prints items/s and
the peak RSS of the replay (its largest process), for a fifth of the archive and for all of it.
Usage: python bench/replay.py [--items 100000] [--files 500]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.detect import ORDINARY, TOPICAL  # noqa: E402


def write_archive(folder: Path, items: int, files: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    langs = list(ORDINARY)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    per_file = items // files
    for f in range(files):
        lang = langs[f % len(langs)]
        entries = []
        for i in range(per_file):
            n = f * per_file + i
            sentences = [rng.choice(ORDINARY[lang]) for _ in range(4)]
            if rng.random() < 0.2:
                sentences.insert(0, rng.choice(TOPICAL[lang]))
            published = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
            entries.append(
                f"<item><title>{escape(sentences[0][:100])} ({n})</title><guid>item-{n}</guid>"
                f"<link>https://archive.example/{f}/{n}</link><pubDate>{format_datetime(published)}</pubDate>"
                f"<description>{escape(' '.join(sentences[1:]))}</description></item>"
            )
        (folder / f"feed-{f:04d}.xml").write_text(
            f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Archive {f}</title>"
            f"<language>{lang}</language>{''.join(entries)}</channel></rss>",
            encoding="utf-8",
        )


def replay_once(items: int, files: int) -> tuple[float, int, float, str]:
    """Generate and replay one archive; (items/s, items, peak RSS MB of the busiest process, summary)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "archive"
        folder.mkdir()
        write_archive(folder, items, files)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")}
        env["NEWSVIGIL_DATABASE_URL"] = f"sqlite:///{tmp}/replay.db"
        subprocess.run(
            [sys.executable, "-m", "newsvigil.cli", "db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT
        )
        started = time.perf_counter()
        # `time -v`-like peak RSS of the replay and its pool: a wrapper process reports its children's maximum
        result = subprocess.run(
            [sys.executable, "-c", PEAK, "replay", str(folder)], env=env, capture_output=True, text=True, cwd=ROOT
        )
        elapsed = time.perf_counter() - started
    lines = result.stdout.strip().splitlines()
    peak_mb = float(lines[-1]) if lines and re.fullmatch(r"[\d.]+", lines[-1]) else float("nan")
    summary = lines[-2] if len(lines) > 1 else result.stderr.strip()[-300:]
    found = re.search(r"(\d+) items", summary)
    count = int(found.group(1)) if found else 0
    return count / elapsed, count, peak_mb, summary


# Runs the CLI in a child and prints the peak RSS (MB) of the largest process it waited for.
PEAK = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-m", "newsvigil.cli", *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()
    # A fifth of the archive first: peak memory should not grow with the archive's size.
    for items in (args.items // 5, args.items):
        rate, count, peak_mb, summary = replay_once(items, args.files)
        print(f"replay: {rate:,.0f} items/s ({count:,} items in {args.files} files), peak RSS {peak_mb:.0f} MB")
        print(f"  {summary}")


if __name__ == "__main__":
    main()
