"""Story clustering across languages: a shared figure about one place from one actor joins reports
that share no words; anything less keeps them apart; same-language clustering is the text's."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from newsvigil.processors.figures import same_figure
from newsvigil.processors.stories import (
    NEAR_DUPLICATE,
    RELATED_TEXT,
    FigureMark,
    Report,
    StoryState,
    absorb,
    belongs,
    choose_story,
    lookup_keys,
    member_signatures,
    names,
    same_event_figure,
    signature,
    similarity,
)
from newsvigil.records import TroopMention

WINDOW = timedelta(hours=72)
START = datetime(2025, 3, 10, 8, tzinfo=UTC)


def mention(value: float, place: str | None, actor: str | None, approx: bool = False) -> TroopMention:
    return TroopMention(value, value, value, approx, "troops", f"{value:g}", 0, 1, actor, "deployment", place, place)


def report(
    article_id: str, text: str, language: str, figures: list[TroopMention], hours: float = 0, topics=("nato",)
) -> Report:
    return Report(
        article_id=article_id,
        title=text.partition("\n")[0],
        topics=frozenset(topics),
        published=START + timedelta(hours=hours),
        source=f"outlet-{article_id}",
        language=language,
        figures=figures,
        signature=signature(text),
        names=names(text),
    )


def story_of(first: Report) -> StoryState:
    story = StoryState(1, set(first.topics), first.published)
    absorb(story, first, 20)
    return story


EN = "US to send 1,200 troops to Lithuania\nThe Pentagon will deploy 1,200 soldiers next month, officials said."
FR = "Washington enverra 1 200 militaires en Lituanie\nLe Pentagone déploiera ces soldats le mois prochain."
DE = "USA verlegen 1200 Soldaten nach Litauen\nDas Pentagon schickt sie im kommenden Monat."


def test_the_texts_share_no_words():
    """The premise of the tests below: only the figure, place and actor can join these reports."""
    for a, b in [(EN, FR), (EN, DE), (FR, DE)]:
        assert belongs(report("a", a, "en", []), story_of(report("b", b, "fr", [])), WINDOW) == 0


def test_reports_in_other_languages_with_one_figure_place_and_actor_join_the_story():
    story = story_of(report("en", EN, "en", [mention(1200, "lithuania", "US")]))
    fr = report("fr", FR, "fr", [mention(1200, "lithuania", "US")], hours=2)
    assert belongs(fr, story, WINDOW) > 0
    assert choose_story(fr, [story], WINDOW) is story
    absorb(story, fr, 20)
    assert choose_story(report("de", DE, "de", [mention(1200, "lithuania", "US")], hours=5), [story], WINDOW) is story


@pytest.mark.parametrize(
    "other",
    [
        mention(1200, "latvia", "US"),  # same figure, another place
        mention(900, "lithuania", "US"),  # same place, another figure
        mention(1200, "lithuania", "Germany"),  # same figure and place, another actor
        mention(1200, "lithuania", None),  # actor unknown
        mention(1200, None, "US"),  # place unknown
    ],
)
def test_reports_in_other_languages_stay_apart_without_the_same_figure_place_and_actor(other):
    story = story_of(report("en", EN, "en", [mention(1200, "lithuania", "US")]))
    assert belongs(report("fr", FR, "fr", [other], hours=2), story, WINDOW) == 0


def test_two_baltic_deployments_in_one_week_stay_two_stories():
    us = report("us", EN, "en", [mention(1200, "lithuania", "US")])
    uk = report(
        "uk",
        "Le Royaume-Uni envoie environ 900 militaires en Estonie\nLondres double son bataillon à Tapa.",
        "fr",
        [mention(900, "estonia", "United Kingdom", approx=True)],
        hours=48,
    )
    de = report(
        "de",
        "Bundeswehr schickt 1200 Soldaten nach Lettland\nÜbung bei Adazi.",
        "de",
        [mention(1200, "latvia", "Germany")],
        hours=72,
    )
    story = story_of(us)
    assert choose_story(uk, [story], WINDOW) is None
    assert choose_story(de, [story], WINDOW) is None


def test_no_join_without_a_shared_topic_or_outside_the_window():
    story = story_of(report("en", EN, "en", [mention(1200, "lithuania", "US")]))
    off_topic = report("fr", FR, "fr", [mention(1200, "lithuania", "US")], hours=2, topics=("greenland",))
    late = report("fr", FR, "fr", [mention(1200, "lithuania", "US")], hours=80)
    assert belongs(off_topic, story, WINDOW) == 0
    assert belongs(late, story, WINDOW) == 0


def test_same_language_reports_are_not_joined_by_figure_place_and_actor_alone():
    """Within one language the text decides (as before): no words in common, no story."""
    story = story_of(report("en1", EN, "en", [mention(1200, "lithuania", "US")]))
    other = report(
        "en2",
        "Vilnius welcomes American reinforcement\nA rotation of 1,200 arrives in spring.",
        "en",
        [mention(1200, "lithuania", "US")],
        hours=2,
    )
    assert belongs(other, story, WINDOW) == 0


def test_a_report_without_a_language_is_not_joined_across_languages():
    story = story_of(report("en", EN, "en", [mention(1200, "lithuania", "US")]))
    unknown = report("x", FR, "fr", [mention(1200, "lithuania", "US")], hours=2)
    unknown.language = None
    assert belongs(unknown, story, WINDOW) == 0


def mark(low: float, high: float | None = None, approx: bool = False, place="latvia", actor="Spain") -> FigureMark:
    return FigureMark(low, low if high is None else high, approx, place, actor)


def test_same_figure_overlapping_ranges_or_an_approximate_figure_within_tolerance():
    assert same_figure(mark(600), mark(600))
    assert same_figure(mark(3000, 5000), mark(4000))
    assert same_figure(mark(600, approx=True), mark(650, approx=True))  # outlets round differently
    assert same_figure(mark(650), mark(600, approx=True))
    assert not same_figure(mark(600), mark(650))  # two exact counts: two counts
    assert not same_figure(mark(1000, approx=True), mark(1200))  # "about 1,000" is no 1,200
    assert not same_figure(mark(25), mark(30))


def test_same_event_figure_needs_place_and_actor_known_and_equal():
    assert same_event_figure(mark(600), mark(600))
    assert not same_event_figure(mark(600, place=None), mark(600, place=None))
    assert not same_event_figure(mark(600, actor=None), mark(600, actor=None))
    assert not same_event_figure(mark(600), mark(600, place="lithuania"))
    assert not same_event_figure(mark(600), mark(600, actor="Italy"))


def test_lookup_keys_index_a_figures_place_and_actor():
    figures = [mention(1200, "lithuania", "US"), mention(30, None, "NATO"), mention(5, "kosovo", None)]
    keys = lookup_keys(signature(EN), figures)
    assert "p:lithuania:US" in keys
    assert {"f:1200-1200", "f:30-30", "f:5-5"} <= set(keys)
    assert not [k for k in keys if k.startswith("p:") and k != "p:lithuania:US"]


def test_a_report_matching_related_text_and_another_languages_figure_joins_the_figures_story():
    """The same figure, place and actor in another language outranks merely related wording in the
    report's own language (a near duplicate still wins)."""
    lithuania = mention(1200, "lithuania", "US")
    english = story_of(report("en", EN, "en", [lithuania]))
    related_fr = "Washington enverra des militaires en Lituanie\nLe Pentagone annonce un renfort pour l'Otan cet été."
    french = story_of(report("fr0", related_fr, "fr", [mention(300, "lithuania", "US")]))
    french.id = 2
    newcomer = report("fr1", FR, "fr", [lithuania], hours=2)
    assert RELATED_TEXT <= similarity(newcomer.signature, french.members[0].signature) < NEAR_DUPLICATE
    assert choose_story(newcomer, [french, english], WINDOW) is english
    copy = story_of(report("fr2", FR + " Selon l'agence.", "fr", []))
    copy.id = 3
    assert choose_story(newcomer, [english, copy], WINDOW) is copy


def test_a_storys_member_matrix_follows_the_members_that_join():
    """`absorb` moves the compared matrix along (newest row in, oldest out) instead of dropping it: it
    stays the stack of the latest members' signatures."""
    story = story_of(report("r0", f"{EN} 0", "en", []))
    for n in range(1, 6):
        member_signatures(story)  # compared, then a report joins
        absorb(story, report(f"r{n}", f"{EN} {n}", "en", [], hours=n), 3)
        assert np.array_equal(member_signatures(story), np.stack([m.signature for m in story.members]))
    assert len(story.members) == 3


def test_lookup_keys_bands_are_each_pair_of_minhash_values_in_hex():
    sig = signature(EN)
    values = [int(v) for v in sig]
    bands = [f"b{i}:{values[2 * i]:x}.{values[2 * i + 1]:x}." for i in range(32)]
    assert lookup_keys(sig, [])[:32] == bands and len(lookup_keys(sig, [])) == 32
