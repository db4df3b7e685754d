"""Benchmark: detection throughput on one core, and peak memory.

Generates 10,000 articles of realistic length (title + ~700-character summary) in the eight
languages, runs `detect` over them in this process (one core), then `newsvigil detect` on a file.
Prints articles/s and peak RSS. Usage: python bench/detect.py [--articles N] [--lang-given] [--places-cost]
With --places-cost it also runs detection with and without the gazetteer (places of figures), in
turns in this one process (best of 3 each), so that a busy machine slows both alike.
By default the language of every article is identified; with --lang-given each carries its feed's
language (Article.language, "lang" in the file), as polled articles do.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsvigil.processors.detect import detect  # noqa: E402
from newsvigil.processors.places import empty_gazetteer  # noqa: E402
from newsvigil.processors.rules import RuleSet, load_rules  # noqa: E402
from newsvigil.records import Article  # noqa: E402
from newsvigil.runtime.heap import freeze_startup_objects  # noqa: E402

# On-topic sentences (figures, NATO, Greenland) and ordinary news (dates, money, percentages).
TOPICAL = {
    "fr": [
        "Les États-Unis vont retirer près de 1 200 militaires des structures de l'Otan.",
        "Copenhague enverra une centaine de soldats supplémentaires au Groenland.",
        "Selon le ministère, environ 3 000 soldats participeront à l'exercice au printemps.",
    ],
    "en": [
        "The Pentagon is weighing pulling about 3,000 troops from Europe, officials said.",
        "Greenland's government said the island is not for sale.",
        "Between 3,000 and 5,000 troops could leave bases in Germany next year.",
    ],
    "de": [
        "Die USA ziehen rund 1.500 Soldaten aus Bayern ab, heißt es aus Regierungskreisen.",
        "Beim Nato-Gipfel soll über die Ostflanke gesprochen werden.",
    ],
    "da": ["Danmark sender omkring 150 soldater til Grønland i løbet af foråret."],
    "nl": ["De VS trekken ongeveer 200 militairen terug uit de NAVO-hoofdkwartieren."],
    "es": ["Estados Unidos retirará unos 3.000 soldados de Europa, según fuentes de la OTAN."],
    "it": ["Gli Stati Uniti ritireranno circa 1.200 militari dalle strutture della Nato."],
    "pl": ["USA wycofają 8,5 tys. żołnierzy z Europy, NATO zaniepokojone.", "Trump ponownie mówi o kupnie Grenlandii."],
}
ORDINARY = {
    "fr": [
        "Le gouvernement a présenté son budget de 450 milliards d'euros mardi devant l'Assemblée nationale.",
        "La bourse de Paris a terminé la séance en légère hausse de 0,4 % le 12 novembre.",
        "Les syndicats appellent à une nouvelle journée de mobilisation jeudi dans toute la France.",
        "Le festival a accueilli plus de 80 000 visiteurs en trois jours, selon les organisateurs.",
    ],
    "en": [
        "Shares in London closed higher on Thursday after a volatile week for technology stocks.",
        "The council approved a £12 million plan to rebuild the bridge by 2028.",
        "Heavy rain is expected across the north of the country over the weekend.",
        "The company said revenue rose 8% to $4.2 billion in the third quarter.",
    ],
    "de": [
        "Der Bundestag berät am Donnerstag über den Haushalt für das kommende Jahr.",
        "Das Wetter bleibt am Wochenende wechselhaft mit Schauern im Süden.",
        "Die Inflation lag im Oktober bei 2,3 Prozent, teilte das Statistische Bundesamt mit.",
    ],
    "da": [
        "Regeringen fremlagde torsdag et nyt udspil om skat og pension.",
        "Prisen på el steg med 12 procent i oktober ifølge Danmarks Statistik.",
    ],
    "nl": [
        "Het kabinet presenteerde dinsdag de plannen voor de woningmarkt.",
        "De treinen rijden zaterdag niet tussen Utrecht en Amersfoort door werkzaamheden.",
    ],
    "es": [
        "El Gobierno aprobó el martes el proyecto de presupuestos para 2027.",
        "Más de 20.000 personas se manifestaron en Madrid por la vivienda.",
    ],
    "it": [
        "Il regista è nato a Roma nel 1950 e ha vinto numerosi premi.",
        "Il governo ha approvato la manovra da 30 miliardi di euro.",
    ],
    "pl": [
        "Rząd przyjął we wtorek projekt budżetu na przyszły rok.",
        "Ceny mieszkań wzrosły o 9 proc. w ciągu roku, wynika z danych NBP.",
    ],
}


def make_articles(n: int, seed: int = 7, topical_share: float = 0.3, lang_given: bool = False) -> list[Article]:
    """Articles of ~700 characters; `topical_share` of them carry an on-topic sentence. With
    `lang_given`, each says its language (as a feed's <language> does); else it is identified."""
    rng = random.Random(seed)
    langs = list(ORDINARY)
    articles = []
    for i in range(n):
        lang = langs[i % len(langs)]
        sentences = [rng.choice(ORDINARY[lang]) for _ in range(7)]
        if rng.random() < topical_share:
            sentences.insert(rng.randrange(len(sentences)), rng.choice(TOPICAL[lang]))
        title = sentences.pop(0)[:110]
        articles.append(
            Article(
                id=f"b{i}",
                feed_url="bench",
                source="bench",
                title=title,
                summary=" ".join(sentences)[:700],
                language=lang if lang_given else None,
            )
        )
    return articles


def print_places_cost(articles: list[Article], rules: RuleSet, languages: str) -> None:
    """Detection with and without the gazetteer, in turns (best of 3 each)."""
    unplaced = load_rules(ROOT / "seeds" / "topics.yaml")
    unplaced.troops.places = empty_gazetteer()
    best = {"with places": float("inf"), "without places": float("inf")}
    for _ in range(3):
        for label, ruleset in (("without places", unplaced), ("with places", rules)):
            start = time.perf_counter()
            for article in articles:
                detect(article, ruleset)
            best[label] = min(best[label], time.perf_counter() - start)
    rates = {label: len(articles) / seconds for label, seconds in best.items()}
    print(
        f"places cost (languages {languages}, best of 3 in turns): "
        + ", ".join(f"{label} {rate:,.0f} articles/s" for label, rate in rates.items())
        + f" ({100 * (1 - rates['with places'] / rates['without places']):.1f}% slower with places)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--lang-given", action="store_true", help="articles carry their language (no identification)")
    parser.add_argument("--places-cost", action="store_true", help="also compare detection with and without places")
    args = parser.parse_args()
    rules = load_rules(ROOT / "seeds" / "topics.yaml")
    freeze_startup_objects()  # as newsvigil's detecting processes start (replay's pool, the worker)
    articles = make_articles(args.articles, lang_given=args.lang_given)
    languages = "given" if args.lang_given else "identified"
    detect(articles[0], rules)  # warm-up: language model load
    start = time.perf_counter()
    found = sum(len(detect(a, rules).troops) for a in articles)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chars = sum(len(a.text) for a in articles) / len(articles)
    print(
        f"detect (in process, 1 core, languages {languages}): {len(articles) / elapsed:,.0f} articles/s "
        f"({len(articles):,} articles, mean {chars:.0f} chars, {found:,} troop mentions), peak RSS {peak_mb:.0f} MB"
    )

    if args.places_cost:
        print_places_cost(articles, rules, languages)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "articles.jsonl"
        path.write_text(
            "".join(
                json.dumps({"id": a.id, "title": a.title, "summary": a.summary, "lang": a.language}) + "\n"
                for a in articles
            )
        )
        empty = Path(tmp) / "one.jsonl"
        empty.write_text(json.dumps({"id": "x", "title": "x", "summary": "", "lang": articles[0].language}) + "\n")
        command = [sys.executable, "-m", "newsvigil.cli", "detect", "--input"]
        t0 = time.perf_counter()
        subprocess.run([*command, str(empty)], check=True, capture_output=True, cwd=ROOT)
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([*command, str(path)], check=True, capture_output=True, cwd=ROOT)
        total = time.perf_counter() - t0
    print(
        f"newsvigil detect --input (file): {len(articles) / max(total - startup, 1e-9):,.0f} articles/s "
        f"start-up aside (start-up {startup:.2f} s, total {total:.2f} s)"
    )


if __name__ == "__main__":
    main()
