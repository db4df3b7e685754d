"""Users' feedback on wrong troop figures, and vague quantities stored with detections (SQLite and PostgreSQL)."""

import pytest

from newsvigil.errors import InvalidInput, NotFound
from newsvigil.records import VagueMention
from newsvigil.storage.feedback import feedback_values, list_feedback, record_feedback
from newsvigil.storage.queries import article_detail
from newsvigil.storage.repositories import save_detections
from tests.storage.test_repositories import article, detection


def test_feedback_is_recorded_once_and_listed(sessions):
    a = article(1, title="Trump threatens to send troops")
    with sessions.begin() as s:
        save_detections(s, [(a, detection(a, ["greenland"], [2, 300]))])
    with sessions.begin() as s:
        row, new = record_feedback(s, "a1", 2, note="'to' read as two", created_by="cli")
        assert new and row.rules_version == "v1"
        _, again = record_feedback(s, "a1", 2)
        assert not again
    with sessions() as s:
        listed = list_feedback(s)
        assert [(r["article_id"], r["kind"], r["value"], r["note"], r["title"]) for r in listed] == [
            ("a1", "not_troops", 2, "'to' read as two", "Trump threatens to send troops")
        ]
        assert feedback_values(s, "a1") == {2}
        assert article_detail(s, "a1")["not_troops"] == [2]


def test_feedback_names_what_is_wrong(sessions):
    a = article(1)
    with sessions.begin() as s:
        save_detections(s, [(a, detection(a, ["nato"], [300]))])
    with sessions.begin() as s:
        with pytest.raises(NotFound, match="no article 'nope'"):
            record_feedback(s, "nope", 300)
        with pytest.raises(InvalidInput, match=r"article a1 has no troop figure 7 \(its figures: 300\)"):
            record_feedback(s, "a1", 7)
        with pytest.raises(InvalidInput, match="unknown feedback kind"):
            record_feedback(s, "a1", 300, kind="bogus")
    with sessions() as s:
        assert list_feedback(s) == []


def test_vague_quantities_are_stored_and_shown_apart(sessions):
    a = article(1)
    d = detection(a, ["nato"], [300])
    d.vague = [VagueMention(1000, "troops", "thousands of troops", 0, 19)]
    with sessions.begin() as s:
        save_detections(s, [(a, d)])
    with sessions() as s:
        found = article_detail(s, "a1")
    assert found["vague"] == [
        {"magnitude": 1000, "unit": "troops", "quote": "thousands of troops", "start": 0, "end": 19}
    ]
    assert [f["value"] for f in found["figures"]] == [300]
