"""Troop mentions: every grouping, scale words, number words, approximations, ranges, traps."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsvigil.processors.troops import troops_in


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
        "30% of soldiers voted",
        "a 20-year-old soldier",
        "the 82nd Airborne soldiers",
        "3 bases militaires",
        "$5 million for troops",
        "200 police officers",
        "the 3e régiment de soldats",
        "1,200 civilians and soldiers",
        "The F-35 soldiers",
        "un soldat",
        "a soldier",
        "12 ships and their sailors",
        "in 2024, soldiers",
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


@pytest.mark.parametrize(
    "text, lang",
    [
        ("The army will send two hundred and fifty thousand four hundred additional soldiers.", "en"),
        ("Le pays enverra deux cent cinquante mille quatre cents soldats supplémentaires.", "fr"),
    ],
)
def test_a_long_number_before_its_unit_is_read_whole(text, lang, rules):
    # the words of the number begin far before the unit: more than the last few tokens
    [m] = troops_in(text, rules.troops, lang)
    assert m.value == 250400
    assert m.quote.split()[0] in ("two", "deux")


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("In 2022, 12 soldiers were wounded in the attack; six of them died later.", "en", [12, 6]),
        ("Około 1 200 żołnierzy zostało rannych, a sześciu z nich zmarło.", "pl", [1200, 6]),
        ("Of them all, 2 of them: 40 soldiers left and 10 of them came back.", "en", [40, 10]),
    ],
)
def test_a_part_of_a_figure_said_after_it(text, lang, expected, rules):
    assert [m.value for m in troops_in(text, rules.troops, lang)] == expected


def test_change_from_one_figure_to_another_gives_both(rules):
    assert figures("Les effectifs passeront de 80 000 à 65 000 soldats.", rules) == [
        (80000, 80000, 80000, False),
        (65000, 65000, 65000, False),
    ]


def test_count_cue_then_figure_after_the_unit(rules):
    assert figures("Nato øger antallet af soldater i Baltikum til 30.000.", rules) == [(30000, 30000, 30000, False)]
    assert figures("Nato øger antallet af soldater til 30.000\nDanmark bidrager.", rules) == [
        (30000, 30000, 30000, False)
    ]
    assert figures("They raised the number of troops to 2025 levels.", rules) == []


def scan(text, rules, lang=None):
    from newsvigil.processors.lexicon import fold
    from newsvigil.processors.troops import scan_troops

    return scan_troops(text, fold(text), lang, rules.troops)


@pytest.mark.parametrize(
    "text, lang",
    [
        # 1. a word that is a number only in another language
        ("Trump threatens to send troops to Greenland", "en"),
        ("The president asked to deploy soldiers quickly", "en"),
        ("Het kabinet stuurt een militair naar Mali", "nl"),
        # 3. police and other civilian personnel, civilian jobs
        ("The agency will hire 3,500 ICE officers next year", "en"),
        ("Congress funds 15,000 new immigration officers", "en"),
        ("Four Met officers were suspended", "en"),
        ("Wagner reportedly has up to 50,000 troops fighting in Ukraine", "en"),
        ("200 prison officers went on strike", "en"),
        ("La police a mobilisé 1 500 officiers de police judiciaire", "fr"),
        ("Zatrzymano 12 oficerów policji", "pl"),
        ("Der Konzern will 4.000 Stellen abbauen", "de"),
        ("L'usine annonce 1 500 postes supprimés", "fr"),
        ("The factory will cut 650 jobs", "en"),
        # 4. fiction and games
        ("Games Workshop unveils 5 new Chaos Space Marines kits for Warhammer", "en"),
        ("The film follows 300 soldiers at Thermopylae", "en"),
        # 5. years
        ("The ministry announced 2027 personnel changes in the army", "en"),
        # 6. weak units without military context
        ("Two men were arrested after the match", "en"),
        ("Six men were seen near the station", "en"),
        # 7. a number that belongs to another phrase
        ("He killed 7 after a staff party", "en"),
        ("The group was stopped 3 by plain clothes officers", "en"),
        # persons killed by troops are not troops
        ("Two Palestinian men were killed by Israeli troops", "en"),
        # soldiers counted with others
        ("About 8,000 soldiers and police officers were sent to the province", "en"),
        ("Bulgaria sends 100 armored personnel carriers to Ukraine", "en"),
    ],
)
def test_traps_give_no_figure(text, lang, rules):
    assert figures(text, rules, lang) == [], [
        (v.candidate.mention.quote, v.reason) for v in scan(text, rules, lang).verdicts
    ]


@pytest.mark.parametrize(
    "text, lang, magnitude",
    [
        ("Thousands of troops massed at the border", "en", 1000),
        ("Russia sent tens of thousands of soldiers", "en", 10000),
        ("Kreml wysłał tysiące żołnierzy", "pl", 1000),
        ("Des milliers de soldats ont défilé", "fr", 1000),
        ("Tausende Soldaten üben in Litauen", "de", 1000),
        ("Hundreds of soldiers were wounded", "en", 100),
        ("Several thousand reservists were called up", "en", 1000),
        ("Na granicę trafiło kilka tysięcy żołnierzy", "pl", 1000),
    ],
)
def test_vague_quantities_are_apart_from_figures(text, lang, magnitude, rules):
    found = scan(text, rules, lang)
    assert found.troops == []
    assert [v.magnitude for v in found.vague] == [magnitude]
    assert all(text[v.start : v.end] == v.quote for v in found.vague)


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("Denmark sends omkring to tusind soldater", "da", [2000]),  # Danish "to" is two
        ("dwa tysiące żołnierzy", "pl", [2000]),
        ("un millier de soldats", "fr", [1000]),
        ("41 members of the armed forces were injured", "en", [41]),
        ("Three active-duty Air Force officers were charged", "en", [3]),
        ("Une force de 1 200 hommes sera déployée", "fr", [1200]),
        ("12 żołnierzy zostało rannych, sześciu z nich trafiło do szpitala", "pl", [12, 6]),
        ("W Nigrze przebywa około 1,5 tysiąca francuskich żołnierzy", "pl", [1500]),
        ("Prawie pół miliona żołnierzy zginęło", "pl", [500000]),
        ("US Marines to rotate 1,000 personnel through Norway", "en", [1000]),
        # word lists of one language must not fire in another: Danish "told" (customs) is English "told"
        ("About 2,000 U.S. troops told to prepare for deployment", "en", [2000]),
        ("Some 300 troops met the minister at the base", "en", [300]),
        ("Troops fire on protesters: 40 soldiers fire tear gas", "en", [40]),
        # a non-state group that captured soldiers does not own them
        ("Rapid Support Forces claim to have captured 700 soldiers at a base", "en", [700]),
        ("Paris veut porter le nombre de soldats en Estonie à près de 1 300", "fr", [1300]),
    ],
)
def test_real_figures_said_in_many_ways(text, lang, expected, rules):
    assert [f[0] for f in figures(text, rules, lang)] == expected


def test_every_candidate_has_a_named_reason(rules):
    found = scan(
        "Trump wants to send troops. 3,500 ICE officers, thousands of troops and 1,200 US soldiers.", rules, "en"
    )
    reasons = {v.candidate.mention.quote: (v.kept, v.reason) for v in found.verdicts}
    assert reasons["3,500 ICE officers"] == (False, "civilian qualifier 'ICE'")
    assert reasons["1,200 US soldiers"] == (True, "military unit 'soldiers'")
    assert reasons["thousands of troops"][0] is True and "vague" in reasons["thousands of troops"][1]


def _sentence_by_regex(text, start, end):
    """troops._sentence as it was first written: every sentence end of the window, the last kept."""
    from newsvigil.processors.troops import _SENTENCE_END

    sentence_start = 0
    for m in _SENTENCE_END.finditer(text, max(0, start - 400), start):
        sentence_start = m.end()
    following = _SENTENCE_END.search(text, end)
    return sentence_start, (following.start() if following else len(text))


@settings(max_examples=500, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet=st.sampled_from("ab .!?…\n\t\u00a0\u2028x"), max_size=40),
        st.text(alphabet=st.sampled_from("ab .!?…\n\t\u00a0\u2028x"), min_size=380, max_size=900),
        st.text(max_size=60),
    ),
    data=st.data(),
)
def test_sentence_bounds_are_those_of_the_regex(text, data):
    from newsvigil.processors.troops import _sentence

    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert _sentence(text, start, end) == _sentence_by_regex(text, start, end)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(
        st.sampled_from(
            ["4,000", "300", "1 200", "-", "–", "‑", " ", "strong", "-strong", "brigade", "force", "x", "2"]
        ),
        max_size=12,
    ),
    sep=st.sampled_from(["", " "]),
)
def test_a_strength_figure_always_holds_its_cue(words, sep, rules):
    """scan_troops reads 'a 4,000-strong brigade' only where strength_cue is found."""
    text = sep.join(words)
    if rules.troops.strength.search(text):
        assert rules.troops.strength_cue.search(text)


CUE_FRAGMENTS = st.sampled_from(
    [
        *("thousands", "THOUSANDS", "Tausende", "kilka", "tysięcy", "TYSIĘCY", "dziesiątki", "Hunderte", "of", "de"),
        *("des milliers d'", "of them", "OF THEM", "z nich", "Z NICH", "d'entre eux", "von ihnen", "di loro", "them"),
        *("soldiers", "troops", "5", ",", ".", "\n", "\u00a0", "ſ", "K", "İ", "ı", "Ę", "é", "hundreds of thousands"),
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(CUE_FRAGMENTS, max_size=10), sep=st.sampled_from([" ", "", "  "]))
def test_a_phrase_pattern_skipped_for_a_window_has_no_match_there(words, sep, rules):
    """The cues of troops.vague and troops.of_them only skip them where they find nothing."""
    text = sep.join(words)
    troops = rules.troops
    for cues, pattern in ((troops.vague_cues, troops.vague), (troops.of_them_cues, troops.of_them)):
        if not cues.may_match(text):
            assert pattern.search(text) is None


def test_cues_of_phrases():
    from newsvigil.processors.rules import phrase_cues

    assert phrase_cues(["hundreds", "a few hundred", "des centaines"]).texts == ("hundred", "centaines")
    assert phrase_cues(["kilka tysięcy", "tysiące"]).texts == ("tysi",)
    assert phrase_cues(["of them", "ος"]).texts == ()  # a phrase without ASCII: the pattern always runs
