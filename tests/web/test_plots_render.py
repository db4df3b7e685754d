"""The plots as Chromium draws them: every y-axis label lies inside the plot, whatever its width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsvigil.web.plots import figures_chart, reports_chart
from tests.support import REPO_ROOT
from tests.web.test_dashboard_e2e import page  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.slow

STYLE = (REPO_ROOT / "web" / "static" / "style.css").read_text()
UNTIL = datetime(2025, 3, 1, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=14)


def _figures(*values: float) -> list[dict]:
    return [
        {
            "value": v,
            "unit": "troops",
            "quote": f"{v:,.0f} troops",
            "outlet": "Example",
            "when": SINCE + timedelta(days=i),
        }
        | {"article": f"a{i}", "mention": i}
        for i, v in enumerate(values)
    ]


def _tick_lefts(page, svg) -> list[tuple[str, float]]:  # noqa: F811
    page.set_content(f"<html><head><style>{STYLE}</style></head><body style='width:760px'>{svg}</body></html>")
    return page.eval_on_selector_all(
        "svg.plot text.tick[text-anchor=end]",
        "els => els.map(e => [e.textContent, e.getBBox().x])",
    )


@pytest.mark.parametrize("values", [(40, 1_200), (900_000, 1_200_000), (3, 10_000_000), (1_500_000_000,)])
def test_figure_labels_are_not_clipped(page, values):  # noqa: F811
    ticks = _tick_lefts(page, figures_chart(_figures(*values), SINCE, UNTIL))
    assert ticks and max(len(label) for label, _ in ticks) >= len(f"{max(values):,.0f}") - 2
    assert all(x >= 0 for _, x in ticks), ticks


def test_report_count_labels_are_not_clipped(page):  # noqa: F811
    # A year replayed into one day can count millions: the label still fits.
    counts = {"nato": {(SINCE + timedelta(days=1)).date().isoformat(): 12_345_678}}
    ticks = _tick_lefts(page, reports_chart(counts, SINCE, UNTIL))
    assert [label for label, _ in ticks][-1] == "12345678"
    assert all(x >= 0 for _, x in ticks), ticks
