"""Score detection on a labelled corpus: topic F1 per topic, troop precision/recall/F1 per language,
and the accuracy of the places of troop figures (over labelled figures the detector finds).

    python bench/score_corpus.py                    # the 200 original items (tests/processors/corpus)
    python bench/score_corpus.py --real [--half A]  # the real-news corpus (labels + rebuilt text)
    python bench/score_corpus.py --real --classes   # also per error class
    python bench/score_corpus.py --feedback         # figures users marked wrong (newsvigil feedback)

The real corpus's text is not committed: rebuild it first with tests/processors/corpus/real/rebuild.py.
Half A is the half rules were tuned on first, half B the half reported (then the other way round);
part C was labelled after all tuning and scored once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsvigil.processors.evaluation import Scores, evaluate, load_corpus, load_real_corpus, split_of  # noqa: E402
from newsvigil.processors.rules import load_rules  # noqa: E402

CORPUS = ROOT / "tests" / "processors" / "corpus"


def print_scores(scores: Scores, count: dict[str, int], classes: bool) -> None:
    print(
        f"{'language':8} {'articles':>8} {'topic F1':>9} {'troop P':>8} {'troop R':>8} {'troop F1':>9} {'vague F1':>9}"
    )
    for lang in sorted(scores.topics, key=lambda k: (k == "all", k)):
        t = scores.troops[lang]
        print(
            f"{lang:8} {count[lang]:8d} {scores.topics[lang].f1:9.3f} {t.precision:8.3f} {t.recall:8.3f} "
            f"{t.f1:9.3f} {scores.vague[lang].f1:9.3f}"
        )
    print()
    print(
        f"{'language':8} {'figures':>8} {'place acc':>10} {'named P':>8} {'named R':>8}  (places of labelled figures found)"
    )
    for lang in sorted(scores.places, key=lambda k: (k == "all", k)):
        p = scores.places[lang]
        if p.total:
            print(f"{lang:8} {p.total:8d} {p.accuracy:10.3f} {p.precision:8.3f} {p.recall:8.3f}")
    print()
    print(f"{'topic':10} {'P':>6} {'R':>6} {'F1':>6} {'gold':>5}")
    for topic, c in sorted(scores.by_topic.items()):
        print(f"{topic:10} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f} {c.tp + c.fn:5d}")
    if classes:
        print()
        print(f"{'class':15} {'items':>5} {'topic F1':>9} {'troop P':>8} {'troop R':>8} {'troop FP':>9}")
        for cls, (topics, troops) in sorted(scores.classes.items()):
            print(
                f"{cls:15} {count.get('class:' + cls, 0):5d} {topics.f1:9.3f} {troops.precision:8.3f} "
                f"{troops.recall:8.3f} {troops.fp:9d}"
            )


def print_feedback() -> None:
    from newsvigil.cli.feedback import feedback_rows

    rows = feedback_rows()
    print(f"{len(rows)} figures marked wrong by users")
    for row in rows:
        print(f"{row['article_id']}\t{row['kind']}\t{row['value']:g}\t{row['created_at']}\t{row['title']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", help="a folder of labelled *.jsonl (default: the original corpus)")
    parser.add_argument("--real", action="store_true", help="score the real-news corpus (tests/processors/corpus/real)")
    parser.add_argument(
        "--half",
        choices=["A", "B", "C"],
        help="only one part of the real corpus: A and B are the development "
        "halves, C the 400 items labelled after all tuning",
    )
    parser.add_argument("--classes", action="store_true", help="also print scores per error class")
    parser.add_argument("--errors", action="store_true", help="list every article scored wrong")
    parser.add_argument("--feedback", action="store_true", help="list the figures users marked wrong, then stop")
    parser.add_argument("--rules", default=str(ROOT / "seeds" / "topics.yaml"), help="rules file to score")
    args = parser.parse_args()
    if args.feedback:
        print_feedback()
        return
    if args.real:
        items = load_real_corpus(CORPUS / "real")
        if items is None:
            print("real corpus skipped: its text is absent (run tests/processors/corpus/real/rebuild.py SNAPSHOT)")
            return
    else:
        items = load_corpus(Path(args.folder) if args.folder else CORPUS)
    if args.half:
        items = [i for i in items if split_of(i) == args.half]
    scores = evaluate(items, load_rules(args.rules))
    count: dict[str, int] = {"all": len(items)}
    for item in items:
        count[item["lang"]] = count.get(item["lang"], 0) + 1
        for cls in item.get("classes", []):
            count["class:" + cls] = count.get("class:" + cls, 0) + 1
    print_scores(scores, count, args.classes)
    if args.errors:
        print("\n".join(scores.errors))


if __name__ == "__main__":
    main()
