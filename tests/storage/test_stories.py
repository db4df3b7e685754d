"""Story persistence on SQLite and PostgreSQL: a story's latest members, read by index, with the
figures' places and actors that join reports across languages."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from newsvigil.processors.story_assignment import assign_stories
from newsvigil.records import Detection, TroopMention
from newsvigil.storage.models import StoryArticle
from newsvigil.storage.repositories import save_detections
from newsvigil.storage.stories import (
    StorySummary,
    figures_json,
    new_story,
    recent_members,
    save_placements,
    stories_by_key,
)
from tests.storage.test_repositories import article


def member(n: int, story_id: int, joined_at: datetime) -> dict:
    return {
        "article_id": f"a{n}",
        "story_id": story_id,
        "signature": np.full(4, n, dtype=np.uint64).tobytes(),
        "source": "F",
        "language": "en",
        "figures": json.dumps([[n, n]]),
        "entities": json.dumps([f"name{n}"]),
        "additions": "{}",
        "joined_at": joined_at,
    }


def test_recent_members_are_each_storys_latest_newest_first_ties_by_article_id(sessions):
    """Members join in batches that share one joined_at: the latest `limit` of each story are the
    newest batches', ties broken by article id, as the ranking window function chose them."""
    start = datetime(2026, 11, 20, tzinfo=UTC)
    articles = [article(1, id=f"a{n}") for n in range(70)]
    with sessions.begin() as s:
        save_detections(s, [(a, Detection(a.id, "en", ["nato"], [], "v1")) for a in articles])
        big, small, other = (new_story(s, f"story {i}", ["nato"], start) for i in range(3))
        # big: 50 members in 5 batches of 10 (ids interleaved so that id order is not join order)
        rows = [member(n, big, start + timedelta(minutes=n % 5)) for n in range(50)]
        rows += [member(50 + n, small, start + timedelta(minutes=n)) for n in range(5)]
        rows += [member(60 + n, other, start) for n in range(10)]
        save_placements(
            s,
            [StorySummary(i, 1, start, ["nato"], [], [], []) for i in (big, small, other)],
            [],
            rows,
        )
    expected = {
        story: [
            r["article_id"]
            for r in sorted(
                (r for r in rows if r["story_id"] == story),
                key=lambda r: (-r["joined_at"].timestamp(), r["article_id"]),
            )[:20]
        ]
        for story in (big, small, other)
    }
    with sessions() as s:
        found = list(recent_members(s, [other, big, small, 9999], 20))
    assert [m.story_id for m in found] == sorted(m.story_id for m in found)  # stories in id order
    by_story: dict[int, list[str]] = {}
    for m in found:
        by_story.setdefault(m.story_id, []).append(f"a{int(np.frombuffer(m.signature, dtype=np.uint64)[0])}")
        n = int(np.frombuffer(m.signature, dtype=np.uint64)[0])
        assert m.names == frozenset({f"name{n}"}) and m.figures == frozenset({(n, n)})
    assert by_story == expected
    assert len(by_story[big]) == 20 and len(by_story[small]) == 5 and len(by_story[other]) == 10
    with sessions() as s:
        assert list(recent_members(s, [], 20)) == []


def placed(a, lang: str, value: float, approx: bool, place: str | None, actor: str | None) -> tuple:
    mention = TroopMention(value, value, value, approx, "troops", f"{value:g}", 0, 4, actor, "deployment", place, place)
    return (a, Detection(a.id, lang, ["nato"], [mention], "v1"))


def stories_of(sessions) -> dict[str, int]:
    with sessions() as s:
        return dict(s.execute(select(StoryArticle.article_id, StoryArticle.story_id)).all())


def test_reports_in_other_languages_find_and_join_the_story_by_figure_place_and_actor(sessions):
    """Each report in its own transaction: the story is found by the figure's place/actor key and
    compared with members read back from the database ("about 600" and "about 650" share no figure key)."""
    when = datetime(2025, 5, 5, 8, tzinfo=UTC)
    texts = {
        "es": ("España desplegará unos 600 militares en Letonia", "Refuerzo de la brigada de la OTAN.", 600),
        "it": ("La Spagna schiera circa 650 soldati in Lettonia", "Madrid rafforza la Nato ad Adazi.", 650),
        "pl": ("Hiszpania wyśle około 600 żołnierzy na Łotwę", "Wzmocnienie brygady NATO.", 600),
    }
    for hour, (lang, (title, summary, value)) in enumerate(texts.items()):
        a = article(
            1, id=f"x-{lang}", title=title, summary=summary, language=lang, published=when + timedelta(hours=hour)
        )
        with sessions.begin() as s:
            events = save_detections(s, [placed(a, lang, value, True, "latvia", "Spain")])
            assign_stories(s, events, timedelta(hours=72))
    # another actor, same place and figure, the same day: a story of its own
    other = article(
        1,
        id="x-fr",
        title="La France envoie 600 soldats en Lettonie",
        summary="Renfort.",
        language="fr",
        published=when + timedelta(hours=5),
    )
    with sessions.begin() as s:
        assign_stories(s, save_detections(s, [placed(other, "fr", 600, True, "latvia", "France")]), timedelta(hours=72))
    story = stories_of(sessions)
    assert story["x-es"] == story["x-it"] == story["x-pl"] != story["x-fr"]
    with sessions() as s:
        members = list(recent_members(s, [story["x-es"]], 20))
    assert {m.language for m in members} == {"es", "it", "pl"}
    assert {d for m in members for d in m.details} == {
        (600, 600, True, "latvia", "Spain"),
        (650, 650, True, "latvia", "Spain"),
    }


def test_member_figures_stored_before_places_read_as_figures_without_details(sessions):
    """Rows written before figures carried place and actor ([[low, high], ...]) still read; figures
    with neither are stored as before."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with sessions.begin() as s:
        save_detections(s, [(article(1, id=f"a{n}"), Detection(f"a{n}", "en", ["nato"], [], "v1")) for n in (1, 2)])
        story = new_story(s, "story", ["nato"], start)
        old, new = member(1, story, start), member(2, story, start)
        old["figures"] = json.dumps([[100.0, 200.0]])
        new["figures"] = figures_json([(30, 30, False, None, None), (700, 700, True, "kosovo", "NATO")])
        save_placements(s, [StorySummary(story, 2, start, ["nato"], [], [], [])], [], [old, new])
    assert json.loads(new["figures"]) == [[30, 30], [700, 700, True, "kosovo", "NATO"]]
    with sessions() as s:
        found = {m.names: m for m in recent_members(s, [story], 20)}
    assert found[frozenset({"name1"})].figures == frozenset({(100.0, 200.0)})
    assert found[frozenset({"name1"})].details == frozenset()
    assert found[frozenset({"name2"})].figures == frozenset({(30, 30), (700, 700)})
    assert found[frozenset({"name2"})].details == frozenset({(700, 700, True, "kosovo", "NATO")})
    assert found[frozenset({"name2"})].language == "en"


def test_stories_under_a_key_are_those_open_in_the_window(sessions):
    """A coarse key (a place and actor) is shared by stories of years: the lookup returns only those
    seen within the batch's window."""
    start = datetime(2026, 11, 20, tzinfo=UTC)
    with sessions.begin() as s:
        old = new_story(s, "a year before", ["nato"], start - timedelta(days=365))
        recent = new_story(s, "the day before", ["nato"], start - timedelta(days=1))
        later = new_story(s, "a month after", ["nato"], start + timedelta(days=30))
        keys = [("p:europe:US", story) for story in (old, recent, later)] + [("f:80000-80000", old)]
        save_placements(s, [], keys, [])
    with sessions() as s:
        window = (start - timedelta(days=2), start + timedelta(days=2))
        assert stories_by_key(s, ["p:europe:US", "f:80000-80000"], *window) == {"p:europe:US": [recent]}
        everything = (start - timedelta(days=400), start + timedelta(days=40))
        found = stories_by_key(s, ["p:europe:US"], *everything)
        assert sorted(found["p:europe:US"]) == sorted([old, recent, later])
