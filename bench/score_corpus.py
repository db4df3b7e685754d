"""Score detection on the labelled development corpus: topic micro-F1 and troop F1 per language.

Usage: python bench/score_corpus.py [--errors] [CORPUS_FOLDER]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processors.evaluation import evaluate, load_corpus  # noqa: E402
from processors.rules import load_rules  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=str(ROOT / "tests" / "processors" / "corpus"))
    parser.add_argument("--errors", action="store_true", help="list every article scored wrong")
    args = parser.parse_args()
    items = load_corpus(Path(args.folder))
    scores = evaluate(items, load_rules(ROOT / "seeds" / "topics.yaml"))
    print(f"{'language':8} {'articles':>8} {'topic F1':>9} {'troop F1':>9}")
    for lang in sorted(scores.topics, key=lambda k: (k == "all", k)):
        n = len(items) if lang == "all" else sum(1 for i in items if i["lang"] == lang)
        print(f"{lang:8} {n:8d} {scores.topics[lang].f1:9.3f} {scores.troops[lang].f1:9.3f}")
    if args.errors:
        print("\n".join(scores.errors))


if __name__ == "__main__":
    main()
