"""What the API and the article page read back: the text figures' offsets index into (SQLite and PostgreSQL)."""

import pytest

from newsvigil.processors.detect import detect
from newsvigil.storage.queries import article_detail
from newsvigil.storage.repositories import save_detections
from tests.storage.test_repositories import article


@pytest.mark.parametrize(
    ("title", "summary", "body"),
    [
        ("", "About 3,000 troops will leave Germany, the Pentagon said.", ""),  # an item with no title
        ("Pentagon: about 3,000 troops to leave Germany", "", ""),  # a title only
        ("Withdrawal", "The Pentagon said so.", "About 3,000 troops will leave Germany."),  # full text fetched
    ],
)
def test_every_stored_figure_quotes_the_page_text_at_its_offsets(sessions, rules, title, summary, body):
    """The article page highlights each figure by its offsets: the text it shows must be the text
    detection read (a title-less item used to get a leading line break and lose every highlight)."""
    a = article(1, title=title, summary=summary, body=body)
    found = detect(a, rules, ("en",))
    assert found.troops, "the fixture must carry a figure"
    with sessions.begin() as s:
        save_detections(s, [(a, found)])
    with sessions() as s:
        page = article_detail(s, a.id)
    assert page["text"] == a.text
    for figure in page["figures"]:
        assert page["text"][figure["start"] : figure["end"]] == figure["quote"]
