"""How the real-news items to label were chosen from the snapshot's pool (kept for the record).

Patterns here are deliberately broader than the detector's word lists, so that the sample holds
figures and traps the rules do not know yet. Each item gets the strata it was drawn for; a fixed
seed makes the choice repeatable. A further 260 items were drawn from the detector's own hits
(topics or troop figures, rules 2026.11.26-3) in a random sample of 120,000 pool items (seed 7), so
that the figures it reports today are judged too: 2,100 items in all.

    python tests/processors/corpus/real/select_candidates.py POOL.jsonl OUT.jsonl
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import defaultdict

NUMBER = (
    r"(?:\d[\d,. ]*\d|\d|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|hundred|thousand|dozen|dozens|hundreds|thousands|tens of thousands|"
    r"dwa|dwie|dwóch|trzy|trzech|cztery|czterech|pięć|pięciu|sześć|dziesięć|sto|stu|setki|tysiące|tysięcy|tys\.)"
)
MILITARY = (
    r"troops?|soldiers?|servicemembers?|service ?members?|personnel|sailors|marines|airmen|paratroopers|"
    r"reservists|conscripts|commandos|peacekeepers|recruits|mercenaries|fighters|militants|crew|"
    r"żołnierzy|żołnierze|wojskowych|wojskowi|oficerów|marynarzy|najemników|rezerwistów|poborowych"
)
CIVILIAN = (
    r"officers?|police(?:men)?|agents|guards|troopers|firefighters|rescuers|staff|men|women|employees|workers|"
    r"jobs|posts|positions|people|policjantów|policjanci|funkcjonariuszy|strażaków|ratowników|pracowników|"
    r"etatów|osób|ludzi|mężczyzn|kobiet|strażników"
)
STRATA = {
    "number_military": re.compile(rf"\b{NUMBER}\s+(?:\S+\s+){{0,3}}?(?:{MILITARY})\b", re.I),
    "number_civilian": re.compile(rf"\b{NUMBER}\s+(?:\S+\s+){{0,3}}?(?:{CIVILIAN})\b", re.I),
    "to_troops": re.compile(r"\bto\s+(?:\w+\s+){0,2}(?:troops|soldiers|officers|personnel|men|forces)\b", re.I),
    "vague": re.compile(
        r"\b(?:thousands|hundreds|dozens|scores|tens of thousands|tysiące|tysięcy|setki|dziesiątki)\s+(?:of\s+)?(?:\S+\s+){0,2}?"
        rf"(?:{MILITARY}|{CIVILIAN})\b",
        re.I,
    ),
    "nato": re.compile(r"\b(?:nato|otan|nato's|north atlantic|sojusz\w*|alliance)\b", re.I),
    "greenland": re.compile(r"\b(?:greenland\w*|grenland\w*|nuuk|thule|pituffik|arctic)\b", re.I),
    "fiction": re.compile(r"\b(?:warhammer|space marines?|toy soldiers?|army of|film|movie|game|series)\b.*\b\d", re.I),
}
QUOTA = {
    "number_military": 650,
    "number_civilian": 450,
    "to_troops": 150,
    "vague": 130,
    "nato": 250,
    "greenland": 150,
    "fiction": 60,
}


def main() -> None:
    pool, out = sys.argv[1], sys.argv[2]
    by_stratum: dict[str, list[dict]] = defaultdict(list)
    titles: set[str] = set()
    for line in open(pool, encoding="utf-8"):
        item = json.loads(line)
        if item["language"] not in ("en", "pl") or item["published"].startswith("2026"):
            continue
        key = item["title"].lower().strip()
        if not key or key in titles:
            continue  # the same report from several feeds: one is enough
        text = f"{item['title']}. {item['summary']}"[:1500]
        strata = [name for name, pattern in STRATA.items() if pattern.search(text)]
        if strata:
            titles.add(key)
            item["strata"] = strata
            for name in strata:
                by_stratum[name].append(item)
    rng = random.Random(20261128)
    chosen: dict[str, dict] = {}
    for name, quota in QUOTA.items():
        candidates = [i for i in by_stratum[name] if i["id"] not in chosen]
        for item in rng.sample(candidates, min(quota, len(candidates))):
            chosen[item["id"]] = item
    with open(out, "w", encoding="utf-8") as f:
        for item in sorted(chosen.values(), key=lambda i: i["id"]):
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print({k: len(v) for k, v in by_stratum.items()}, len(chosen), file=sys.stderr)


if __name__ == "__main__":
    main()
