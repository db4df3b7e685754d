"""Rebuild the real-news corpus text from a snapshot of rumca-js/RSS-Link-Database-2023.

The feed items are third-party text and stay out of the repository: only `labels.jsonl` (item ids
and labels) is committed. This script reads the snapshot's git objects and writes `text.jsonl`
beside it (id, source, published, language, title, summary), which `bench/score_corpus.py --real`
joins with the labels.

    python tests/processors/corpus/real/rebuild.py /path/to/RSS-Link-Database-2023.git
    python tests/processors/corpus/real/rebuild.py --pool POOL.jsonl SNAPSHOT   # every item, for labelling
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The last commit before the daily folders were zipped (files of 4 MiB and more are absent from
# snapshots; the zips are, the daily JSON files are not).
COMMIT = "08b89dd9bdbd20633c994bb4a74411f204225b0f"
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
SUMMARY_CHARS = 1000  # the labels cover this much of a summary (some feeds carry whole articles)


def item_id(link: str) -> str:
    """A stable id of a feed item: the first 16 hex digits of its link's SHA-1."""
    return hashlib.sha1(link.encode("utf-8")).hexdigest()[:16]


def plain(value: str | None) -> str:
    """Feed HTML as one line of text."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value or ""))).strip()


def capped(summary: str) -> str:
    """The first SUMMARY_CHARS characters of a summary, cut at a space."""
    if len(summary) <= SUMMARY_CHARS:
        return summary
    cut = summary.rfind(" ", 0, SUMMARY_CHARS)
    return summary[: cut if cut > 0 else SUMMARY_CHARS]


def snapshot_items(git_dir: Path, commit: str = COMMIT) -> Iterator[dict]:
    """Every item of every daily JSON file of the snapshot, first occurrence of each link only."""
    listing = subprocess.run(
        ["git", "-C", str(git_dir), "ls-tree", "-r", "-l", commit], check=True, capture_output=True, text=True
    ).stdout
    blobs = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        _, kind, sha, size = meta.split()
        if kind == "blob" and path.endswith("_entries.json") and size.isdigit():
            blobs.append(sha)
    cat = subprocess.Popen(
        ["git", "-C", str(git_dir), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert cat.stdin and cat.stdout
    seen: set[str] = set()
    for sha in blobs:
        cat.stdin.write(sha.encode() + b"\n")
        cat.stdin.flush()
        header = cat.stdout.readline().split()
        if len(header) < 3 or header[1] != b"blob":
            continue  # missing from the snapshot (a file of 4 MiB or more)
        body = cat.stdout.read(int(header[2]))
        cat.stdout.read(1)
        try:
            entries = json.loads(body)
        except ValueError:
            continue
        for entry in entries if isinstance(entries, list) else []:
            link = entry.get("link") or ""
            published = entry.get("date_published") or ""
            if not link or published.startswith("2026"):
                continue  # 2026 items are reserved for independent evaluation
            key = item_id(link)
            if key in seen:
                continue
            seen.add(key)
            yield {
                "id": key,
                "source": entry.get("source") or "",
                "published": published,
                "language": (entry.get("language") or "")[:2].lower(),
                "title": plain(entry.get("title")),
                "summary": capped(plain(entry.get("description"))),
            }
    cat.stdin.close()
    cat.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshot", type=Path, help="git directory of rumca-js/RSS-Link-Database-2023")
    parser.add_argument("--pool", type=Path, help="write every item here instead of only the labelled ones")
    args = parser.parse_args()
    if args.pool:
        wanted = None
        out_path = args.pool
    else:
        wanted = {
            json.loads(line)["id"]
            for line in (HERE / "labels.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        }
        out_path = HERE / "text.jsonl"
    found = 0
    with out_path.open("w", encoding="utf-8") as out:
        for item in snapshot_items(args.snapshot):
            if wanted is None or item["id"] in wanted:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
                found += 1
    missing = "" if wanted is None else f" ({len(wanted) - found} labelled ids not found)"
    print(f"wrote {found} items to {out_path}{missing}", file=sys.stderr)


if __name__ == "__main__":
    main()
