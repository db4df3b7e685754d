"""Troop mentions: every grouping, scale words, number words, approximations, ranges, traps."""

import pytest

from processors.troops import troops_in


def figures(text, rules, lang=None):
    return [(m.value, m.low, m.high, m.approx) for m in troops_in(text, rules.troops, lang)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("près de 1 200 militaires", [(1200, 1200, 1200, True)]),
        ("about 3,000 troops", [(3000, 3000, 3000, True)]),
        ("rund 1.500 Soldaten", [(1500, 1500, 1500, True)]),
        ("omkring 150 soldater", [(150, 150, 150, True)]),
        ("8,5 tys. żołnierzy", [(8500, 8500, 8500, False)]),
        ("80\u00a0000 soldats", [(80000, 80000, 80000, False)]),
        ("80\u202f000 soldats", [(80000, 80000, 80000, False)]),
        ("80'000 Soldaten", [(80000, 80000, 80000, False)]),
        ("1,5 million soldats", [(1500000, 1500000, 1500000, False)]),
        ("2.5k troops", [(2500, 2500, 2500, False)]),
        ("3 Tsd. Soldaten", [(3000, 3000, 3000, False)]),
        ("deux cents soldats", [(200, 200, 200, False)]),
        ("quatre-vingt mille soldats", [(80000, 80000, 80000, False)]),
        ("dreitausend Soldaten", [(3000, 3000, 3000, False)]),
        ("tusind soldater", [(1000, 1000, 1000, False)]),
        ("dos mil soldados", [(2000, 2000, 2000, False)]),
        ("tweeduizend militairen", [(2000, 2000, 2000, False)]),
        ("duemila soldati", [(2000, 2000, 2000, False)]),
        ("dwa tysiące żołnierzy", [(2000, 2000, 2000, False)]),
        ("between 3,000 and 5,000 troops", [(3000, 3000, 5000, False)]),
        ("de 3 000 à 5 000 soldats", [(3000, 3000, 5000, False)]),
        ("3.000 bis 5.000 Soldaten", [(3000, 3000, 5000, False)]),
        ("a 4,000-strong brigade", [(4000, 4000, 4000, False)]),
        ("une centaine de militaires", [(100, 100, 100, True)]),
        ("1,200 US troops", [(1200, 1200, 1200, False)]),
        ("300 zusätzliche US-Soldaten", [(300, 300, 300, False)]),
        ("około 300 żołnierzy", [(300, 300, 300, True)]),
        ("unos 3.000 soldados", [(3000, 3000, 3000, True)]),
        ("ongeveer 200 militairen", [(200, 200, 200, True)]),
        ("circa 1.200 militari", [(1200, 1200, 1200, True)]),
    ],
)
def test_figures(text, expected, rules):
    assert figures(text, rules) == expected


@pytest.mark.parametrize(
    "text",
    [
        "30% of soldiers voted", "a 20-year-old soldier", "the 82nd Airborne soldiers", "3 bases militaires",
        "$5 million for troops", "200 police officers", "the 3e régiment de soldats", "1,200 civilians and soldiers",
        "The F-35 soldiers", "un soldat", "a soldier", "12 ships and their sailors", "in 2024, soldiers",
        "500 millions d'euros pour les militaires",
    ],
)
def test_non_troop_counts(text, rules):
    assert figures(text, rules) == []


def test_weak_unit_needs_military_context(rules):
    assert figures("Une force de 1 200 hommes sera déployée par l'armée.", rules) == [(1200, 1200, 1200, False)]
    assert figures("1 200 hommes ont couru le marathon.", rules) == []


def test_one_entry_per_distinct_figure_with_offsets(rules):
    text = "US to withdraw 1,200 troops\nThe 1,200 troops will leave; about 350 personnel stay."
    mentions = troops_in(text, rules.troops)
    assert [m.value for m in mentions] == [1200, 350]
    for m in mentions:
        assert text[m.start : m.end] == m.quote


def test_actor_and_action(rules):
    [m] = troops_in("Les États-Unis vont retirer 1 200 militaires américains d'Europe.", rules.troops)
    assert (m.actor, m.action) == ("US", "withdrawal")
    [m] = troops_in("Denmark will deploy 150 Danish soldiers to Greenland.", rules.troops)
    assert (m.actor, m.action) == ("Denmark", "deployment")


def test_change_from_one_figure_to_another_gives_both(rules):
    assert figures("Les effectifs passeront de 80 000 à 65 000 soldats.", rules) == [
        (80000, 80000, 80000, False), (65000, 65000, 65000, False)]


def test_count_cue_then_figure_after_the_unit(rules):
    assert figures("Nato øger antallet af soldater i Baltikum til 30.000.", rules) == [(30000, 30000, 30000, False)]
    assert figures("Nato øger antallet af soldater til 30.000\nDanmark bidrager.", rules) == [(30000, 30000, 30000, False)]
    assert figures("They raised the number of troops to 2025 levels.", rules) == []
