"""Rebuild the story set's real text from a snapshot of rumca-js/RSS-Link-Database-2023.

The feed items are third-party text and stay out of the repository: only `labels.jsonl` (item ids,
events and what was seen) is committed. This writes `text.jsonl` beside it (id, source, published,
language, title, summary), which `bench/story_eval.py` joins with the labels.

    python tests/processors/corpus/stories/rebuild.py /path/to/RSS-Link-Database-2023.git
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("real_rebuild", HERE.parent / "real" / "rebuild.py")
assert _spec and _spec.loader
real_rebuild = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real_rebuild)  # the detection corpus's reader: same ids, same text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshot", type=Path, help="git directory of rumca-js/RSS-Link-Database-2023")
    args = parser.parse_args()
    lines = (HERE / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    wanted = {json.loads(line)["id"] for line in lines if line.strip()}
    found = 0
    with (HERE / "text.jsonl").open("w", encoding="utf-8") as out:
        for item in real_rebuild.snapshot_items(args.snapshot):
            if item["id"] in wanted:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
                found += 1
    print(
        f"wrote {found} items to {HERE / 'text.jsonl'} ({len(wanted) - found} labelled ids not found)", file=sys.stderr
    )


if __name__ == "__main__":
    main()
