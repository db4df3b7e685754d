"""The JSON API (OpenAPI at /openapi.json): events, stories, articles, feeds, subscriptions, alerts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsvigil.processors import subscriptions
from newsvigil.processors.delivery import send_test_alert
from newsvigil.records import parse_time, utc_iso
from newsvigil.storage import alerts as stored_alerts
from newsvigil.storage.alerts import subscription_json
from newsvigil.storage.feedback import record_feedback
from newsvigil.storage.models import AlertRow
from newsvigil.storage.queries import Filters, article_detail, articles_page, stories_page, story_detail
from newsvigil.storage.repositories import feed_health
from newsvigil.web.auth import Unauthorized, may_read, same_origin, token_of

router = APIRouter(prefix="/api")


async def session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request (async: making one does no I/O, and it saves a thread hop)."""
    with request.app.state.sessions() as s:
        yield s


async def reader(request: Request, db: Session = Depends(session)) -> None:
    """Read-only data: open when the dashboard is public, else a token is needed (one indexed lookup)."""
    if not may_read(request, db):
        raise Unauthorized("this server's dashboard is private: send Authorization: Bearer <token>")


def writer(request: Request, db: Session = Depends(session)) -> None:
    """Subscriptions, alerts and changes: always a token. A change made with the dashboard's sign-in
    cookie (not a Bearer header) must come from the dashboard itself: another site cannot make a
    signed-in browser send it."""
    if token_of(request, db) is None:
        raise Unauthorized("a token is needed: send Authorization: Bearer <token> (newsvigil tokens add NAME)")
    if request.method not in ("GET", "HEAD") and "authorization" not in request.headers and not same_origin(request):
        raise HTTPException(403, "cross-site request refused: send Authorization: Bearer <token>")


async def filters(
    topic: str | None = Query(None, max_length=128, description="Only this topic (e.g. nato)."),
    language: str | None = Query(None, max_length=16, description="Only reports in this language (ISO 639-1)."),
    outlet: str | None = Query(None, max_length=512, description="Only reports from this outlet."),
    since: str | None = Query(None, max_length=64, description="Published at or after (ISO 8601 date or time)."),
    until: str | None = Query(None, max_length=64, description="Published before (ISO 8601 date or time)."),
) -> Filters:
    """Filters from the query string; empty values (a form's "any") mean no filter."""
    return Filters(topic or None, language or None, outlet or None, _time("since", since), _time("until", until))


def _time(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_time(value)
        if parsed is None or not (1900 <= parsed.year <= 2200):
            raise ValueError("out of range")
        return parsed
    except (ValueError, OverflowError):
        raise HTTPException(422, f"{name}: {value!r} is not an ISO 8601 date or time (e.g. 2026-11-01)") from None


Limit = Query(50, ge=1, le=200, description="Items per page.")
Cursor = Query(None, max_length=512, description="`next` of the previous page.")
# Ids are 32-bit columns on PostgreSQL: a larger number is no id (422 naming it, not a database error).
StoryId = Path(..., ge=1, le=2**31 - 1, description="A story's id.")
SubscriptionId = Path(..., ge=1, le=2**31 - 1, description="A subscription's id.")


class Page(BaseModel):
    items: list[dict[str, Any]]
    next: str | None = Field(None, description="Cursor of the next page; null on the last page.")


def page(items: list[dict[str, Any]], next_cursor: str | None) -> JSONResponse:
    """A page, serialised directly: our own dicts need no second validation (`Page` documents it)."""
    return JSONResponse({"items": items, "next": next_cursor})


@router.get("/stories", response_model=Page, dependencies=[Depends(reader)], tags=["stories"])
def list_stories(
    f: Filters = Depends(filters), limit: int = Limit, cursor: str | None = Cursor, db: Session = Depends(session)
) -> JSONResponse:
    """Stories, the one with the latest report first: reports, outlets, languages, figures."""
    return page(*stories_page(db, f, limit, cursor))


@router.get("/stories/{story_id}", dependencies=[Depends(reader)], tags=["stories"])
def get_story(story_id: int = StoryId, db: Session = Depends(session)) -> dict[str, Any]:
    """A story with all its reports, what each added, and their figures with quotes."""
    story = story_detail(db, story_id)
    if story is None:
        raise HTTPException(404, f"no story {story_id}")
    return story


@router.get("/events", response_model=Page, dependencies=[Depends(reader)], tags=["articles"])
def list_events(
    f: Filters = Depends(filters), limit: int = Limit, cursor: str | None = Cursor, db: Session = Depends(session)
) -> JSONResponse:
    """Events (articles on at least one topic), newest first, with topics and troop figures."""
    return page(*articles_page(db, f, limit, cursor, events_only=True))


@router.get("/articles", response_model=Page, dependencies=[Depends(reader)], tags=["articles"])
def list_articles(
    f: Filters = Depends(filters), limit: int = Limit, cursor: str | None = Cursor, db: Session = Depends(session)
) -> JSONResponse:
    """Every stored article, newest first."""
    return page(*articles_page(db, f, limit, cursor))


@router.get("/articles/{article_id}", dependencies=[Depends(reader)], tags=["articles"])
def get_article(article_id: str, db: Session = Depends(session)) -> dict[str, Any]:
    """One article with its text; figure offsets index into `text`."""
    article = article_detail(db, article_id)
    if article is None:
        raise HTTPException(404, f"no article {article_id}")
    return article


class FeedbackIn(BaseModel):
    not_troops: float = Field(
        description="A figure the detector reported in this article that is not a count of troops."
    )
    note: str | None = Field(None, max_length=500, description="Why, in a few words.")


@router.post("/articles/{article_id}/feedback", status_code=201, dependencies=[Depends(writer)], tags=["articles"])
def post_feedback(
    article_id: str, body: FeedbackIn, request: Request, db: Session = Depends(session)
) -> dict[str, Any]:
    """Mark a detected figure as not a troop figure (listed by `bench/score_corpus.py --feedback`)."""
    row, new = save_feedback(request, db, article_id, body.not_troops, body.note)
    return {"article_id": row.article_id, "kind": row.kind, "value": row.value, "new": new}


def save_feedback(
    request: Request, db: Session, article_id: str, value: float, note: str | None = None
) -> tuple[Any, bool]:
    """Record feedback from the API or the dashboard; 404 for an unknown article, 422 for a figure it lacks."""
    token = token_of(request, db)
    row, new = record_feedback(db, article_id, value, note=note, created_by=token.name if token else None)
    db.commit()
    return row, new


@router.get("/feeds", dependencies=[Depends(reader)], tags=["feeds"])
def list_feeds(request: Request, db: Session = Depends(session)) -> list[dict[str, Any]]:
    """Feed health: last status and error, last success, errors in a row, next poll, items/day, flagged."""
    return feed_health(db, request.app.state.settings.feed_failing_after)


class SubscriptionIn(BaseModel):
    name: str
    channel: str = Field(description="webhook, email, apprise or atom")
    target: str = Field("", description="Webhook URL, email address or Apprise URL (empty for atom)")
    topics: str = Field("", description="Comma-separated topics; empty = any")
    languages: str = Field("", description="Comma-separated language codes; empty = any")
    keywords: str = Field("", description="Comma-separated words, one of which must occur")
    min_figure: float | None = None
    kinds: str = Field(
        "new_story,new_report,new_figure",
        description="Comma-separated: new_story, new_report, new_figure, figure_changed",
    )
    mode: str = Field("instant", description="instant or digest")
    digest_minutes: int = 60
    urgent_figure: float | None = None


class SubscriptionPatch(BaseModel):
    active: bool = Field(description="false pauses the subscription, true resumes it")


def create_subscription(db: Session, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Validate and add a subscription (API and dashboard); (its JSON, its secret). InvalidInput names the field."""
    sub = subscriptions.create_subscription(db, **data)
    db.commit()
    return subscription_json(sub), sub.secret


@router.get("/subscriptions", dependencies=[Depends(writer)], tags=["subscriptions"])
def list_subscriptions(db: Session = Depends(session)) -> list[dict[str, Any]]:
    """All subscriptions (their secrets are never shown again)."""
    return [subscription_json(s) for s in stored_alerts.subscriptions(db)]


@router.post("/subscriptions", status_code=201, dependencies=[Depends(writer)], tags=["subscriptions"])
def post_subscription(body: SubscriptionIn, request: Request, db: Session = Depends(session)) -> dict[str, Any]:
    """Create a subscription. The response shows its secret once: the webhook signing key, or the
    token of the Atom feed at /atom/{secret}."""
    data, secret = create_subscription(db, body.model_dump())
    data["secret"] = secret
    if data["channel"] == "atom":
        data["atom_url"] = str(request.url_for("atom_feed", secret=secret))
    return data


@router.patch("/subscriptions/{subscription_id}", dependencies=[Depends(writer)], tags=["subscriptions"])
def patch_subscription(
    body: SubscriptionPatch, subscription_id: int = SubscriptionId, db: Session = Depends(session)
) -> dict[str, Any]:
    """Pause or resume a subscription."""
    sub = stored_alerts.set_active(db, subscription_id, body.active)
    db.commit()
    return subscription_json(sub)


@router.delete(
    "/subscriptions/{subscription_id}", status_code=204, dependencies=[Depends(writer)], tags=["subscriptions"]
)
def delete_subscription(subscription_id: int = SubscriptionId, db: Session = Depends(session)) -> Response:
    """Delete a subscription and its alerts."""
    stored_alerts.delete_subscription(db, subscription_id)
    db.commit()
    return Response(status_code=204)


@router.post("/subscriptions/{subscription_id}/test", dependencies=[Depends(writer)], tags=["subscriptions"])
def test_subscription(
    request: Request, subscription_id: int = SubscriptionId, db: Session = Depends(session)
) -> dict[str, Any]:
    """Send a test alert now by the path real alerts take; reports the outcome."""
    outcome = send_test_alert(
        request.app.state.sessions, request.app.state.settings, stored_alerts.find_subscription(db, subscription_id)
    )
    return {"delivered": outcome.ok, "error": test_error(outcome, token_of(request, db))}


def test_error(outcome: Any, token: Any) -> str | None:
    """What a delivery test may tell: network details ("Connection refused", "HTTP 302") would make it
    a port scanner, so only admin tokens see them."""
    if outcome.ok:
        return None
    if token is not None and token.admin:
        return outcome.error
    return "not delivered (an admin token, `newsvigil subscribe test` or `newsvigil alerts --failed` show why)"


@router.get("/alerts", response_model=Page, dependencies=[Depends(writer)], tags=["alerts"])
def list_alerts(
    status: str | None = Query(None, description="pending, sent, failed or dropped"),
    subscription: int | None = Query(None, description="Only this subscription's alerts."),
    limit: int = Limit,
    cursor: int | None = Query(None, description="`next` of the previous page."),
    db: Session = Depends(session),
) -> JSONResponse:
    """Alerts and their delivery state, newest first."""
    query = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit + 1)
    if status:
        query = query.where(AlertRow.status == status)
    if subscription:
        query = query.where(AlertRow.subscription_id == subscription)
    if cursor:
        query = query.where(AlertRow.id < cursor)
    rows = list(db.scalars(query))
    items = [
        {
            "id": a.id,
            "subscription": a.subscription_id,
            "kind": a.kind,
            "urgent": a.urgent,
            "status": a.status,
            "attempts": a.attempts,
            "last_error": a.last_error,
            "created_at": utc_iso(a.created_at),
            "sent_at": utc_iso(a.sent_at),
            "payload": json.loads(a.payload),
        }
        for a in rows[:limit]
    ]
    return page(items, str(rows[limit - 1].id) if len(rows) > limit else None)
