"""Figure series on the web: GET /api/series and /api/series/{id} (JSON), and the dashboard's /series
pages (a list; a series' figures over time, each point linked to its quote and naming its outlet)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from newsvigil.processors.series import KINDS, SeriesKey
from newsvigil.records import parse_time
from newsvigil.storage.series import SeriesFilters, series_detail, series_list
from newsvigil.web.api import reader, session
from newsvigil.web.pages import _page, _reader
from newsvigil.web.plots import series_chart

api_router = APIRouter(prefix="/api")
page_router = APIRouter(include_in_schema=False)

SeriesId = Path(..., ge=1, le=2**31 - 1, description="A series' id.")


async def series_filters(
    actor: str | None = Query(None, max_length=64, description="Whose troops (e.g. US, NATO)."),
    place: str | None = Query(None, max_length=64, description="Where: a gazetteer id (e.g. europe)."),
    unit_class: str | None = Query(None, max_length=32, description="troops, officers, sailors..."),
    kind: str | None = Query(None, max_length=16, description="level (a strength) or movement (sent, withdrawn)."),
    topic: str | None = Query(None, max_length=128, description="Series with a report on this topic."),
) -> SeriesFilters:
    """Filters from the query string; empty values mean no filter."""
    if kind and kind not in KINDS:
        raise HTTPException(422, f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    return SeriesFilters(actor or None, place or None, unit_class or None, kind or None, topic or None)


def _labelled(series: dict[str, Any]) -> dict[str, Any]:
    key = SeriesKey(series["actor"], series["place"], series["unit_class"], series["kind"])
    return {**series, "label": key.label(series["place_name"])}


@api_router.get("/series", dependencies=[Depends(reader)], tags=["series"])
def list_series(
    f: SeriesFilters = Depends(series_filters),
    limit: int = Query(200, ge=1, le=1000, description="At most this many series."),
    db: Session = Depends(session),
) -> list[dict[str, Any]]:
    """Figure series (actor · place · unit class, level or movement), the one with the latest report
    first: points, changes, the latest figure and the last report's time."""
    return [_labelled(s) for s in series_list(db, f, limit)]


@api_router.get("/series/{series_id}", dependencies=[Depends(reader)], tags=["series"])
def get_series(series_id: int = SeriesId, db: Session = Depends(session)) -> dict[str, Any]:
    """A series with its points in time order: each figure with its quote, report, outlet and link,
    whether it changed the series, and the point it was compared with."""
    found = series_detail(db, series_id)
    if found is None:
        raise HTTPException(404, f"no series {series_id}")
    return _labelled(found)


@page_router.get("/series", response_class=HTMLResponse)
def series_page(
    request: Request, f: SeriesFilters = Depends(series_filters), db: Session = Depends(session)
) -> HTMLResponse:
    _reader(request, db)
    return _page(request, "series_list.html", db, series=[_labelled(s) for s in series_list(db, f)], filters=f)


@page_router.get("/series/{series_id}", response_class=HTMLResponse)
def one_series_page(request: Request, series_id: int = SeriesId, db: Session = Depends(session)) -> HTMLResponse:
    _reader(request, db)
    found = series_detail(db, series_id)
    if found is None:
        raise HTTPException(404, f"no series {series_id}")
    series = _labelled(found)
    plotted = [
        {
            **p["figure"],
            "article": p["article_id"],
            "mention": p["mention_id"],
            "outlet": p["outlet"],
            "when": parse_time(p["published"]),
            "changed": p["changed"],
        }
        for p in series["points"]
    ]
    return _page(request, "series.html", db, series=series, plot=series_chart(series["label"], plotted))
