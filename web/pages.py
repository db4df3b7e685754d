"""The dashboard's pages: stories and timelines, a story, an article, feeds, subscriptions, login,
and each Atom subscription's feed at its secret URL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsvigil.errors import InvalidInput, NotFound
from newsvigil.processors.atom import alerts_feed
from newsvigil.processors.delivery import send_test_alert
from newsvigil.storage import alerts as stored_alerts
from newsvigil.storage.alerts import sent_alerts, subscription_json
from newsvigil.storage.models import Subscription
from newsvigil.storage.queries import (
    Filters,
    article_detail,
    choices,
    figure_points,
    reports_per_day,
    stories_page,
    story_detail,
    timeline_window,
)
from newsvigil.storage.repositories import feed_health
from newsvigil.storage.spikes import spike_json, spikes_between
from newsvigil.storage.tokens import check_token
from newsvigil.web.api import StoryId, SubscriptionId, create_subscription, filters, save_feedback, session, test_error
from newsvigil.web.auth import COOKIE, LoginRequired, may_read, same_origin, token_of
from newsvigil.web.plots import figures_chart, reports_chart

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")  # autoescape is on


def safe_url(url: str | None) -> str | None:
    """Only http(s) links from feeds become links: no javascript:, data: or relative tricks."""
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def highlight(text: str, figures: list[dict]) -> Markup:
    """The text, escaped, with each figure's quote marked (and anchored for the plot's links)."""
    out, at = [], 0
    for figure in sorted(figures, key=lambda f: f["start"]):
        start, end = figure["start"], figure["end"]
        if start < at or text[start:end] != figure["quote"]:  # overlapping, or the text changed since
            continue
        out += [
            escape(text[at:start]),
            Markup(f'<mark id="m{int(figure["id"])}">'),
            escape(text[start:end]),
            Markup("</mark>"),
        ]
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


templates.env.filters["safe_url"] = safe_url
templates.env.globals["highlight"] = highlight


def _reader(request: Request, db: Session) -> None:
    if not may_read(request, db):
        raise LoginRequired()


def _editor(request: Request, db: Session) -> None:
    if token_of(request, db) is None:
        raise LoginRequired()


def _page(request: Request, name: str, db: Session, **context: Any) -> HTMLResponse:
    context["signed_in"] = token_of(request, db) is not None
    return templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request, f: Filters = Depends(filters), cursor: str | None = None, db: Session = Depends(session)
) -> HTMLResponse:
    _reader(request, db)
    since, until = timeline_window(db, f)
    stories, next_cursor = stories_page(db, f, 30, cursor)
    query = {
        k: v
        for k, v in {
            "topic": f.topic,
            "language": f.language,
            "outlet": f.outlet,
            "since": request.query_params.get("since"),
            "until": request.query_params.get("until"),
        }.items()
        if v
    }
    return _page(
        request,
        "dashboard.html",
        db,
        filters=f,
        query=query,
        choices=choices(db),
        stories=stories,
        next_url=f"/?{urlencode({**query, 'cursor': next_cursor})}" if next_cursor else None,
        reports_plot=reports_chart(
            reports_per_day(db, f, since, until),
            since,
            until,
            # A language filter shows that language's spikes; otherwise the topic-wide ones.
            [spike_json(s) for s in spikes_between(db, since, until, f.topic, f.language or "")],
        ),
        figures_plot=figures_chart(figure_points(db, f, since, until), since, until),
        since=since,
        until=until,
    )


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: int = StoryId, db: Session = Depends(session)) -> HTMLResponse:
    _reader(request, db)
    found = story_detail(db, story_id)
    if found is None:
        raise HTTPException(404, f"no story {story_id}")
    return _page(request, "story.html", db, story=found)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, article_id: str, db: Session = Depends(session)) -> HTMLResponse:
    _reader(request, db)
    found = article_detail(db, article_id)
    if found is None:
        raise HTTPException(404, f"no article {article_id}")
    return _page(request, "article.html", db, article=found)


@router.post("/articles/{article_id}/feedback")
def article_feedback(
    request: Request, article_id: str, not_troops: str = Form(...), db: Session = Depends(session)
) -> Response:
    """The article page's "not troops" button (token required)."""
    _form_guard(request, db)
    try:
        value = float(not_troops)
    except ValueError:
        raise HTTPException(422, f"not_troops: {not_troops!r} is not a number") from None
    save_feedback(request, db, article_id, value)
    return RedirectResponse(f"/articles/{quote(article_id, safe='')}#figures", status_code=303)


@router.get("/feeds", response_class=HTMLResponse)
def feeds(request: Request, db: Session = Depends(session)) -> HTMLResponse:
    _reader(request, db)
    return _page(request, "feeds.html", db, feeds=feed_health(db, request.app.state.settings.feed_failing_after))


@router.get("/subscriptions", response_class=HTMLResponse)
def subscriptions(request: Request, message: str | None = None, db: Session = Depends(session)) -> HTMLResponse:
    _editor(request, db)
    return _subscriptions_page(request, db, message)


def _subscriptions_page(request: Request, db: Session, message: str | None, secret: str | None = None) -> HTMLResponse:
    rows = [subscription_json(s) for s in stored_alerts.subscriptions(db)]
    response = _page(
        request,
        "subscriptions.html",
        db,
        subscriptions=rows,
        message=message,
        secret=secret,
        topics=choices(db)["topics"],
    )
    if secret:
        response.headers["Cache-Control"] = "no-store"  # shown once: kept out of caches too
    return response


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"/subscriptions?{urlencode({'message': message})}", status_code=303)


def _form_guard(request: Request, db: Session) -> None:
    _editor(request, db)
    if not same_origin(request):
        raise HTTPException(403, "cross-site form post refused")


@router.post("/subscriptions")
def add_subscription_form(
    request: Request,
    name: str = Form(...),
    channel: str = Form(...),
    target: str = Form(""),
    topics: str = Form(""),
    languages: str = Form(""),
    keywords: str = Form(""),
    min_figure: str = Form(""),
    mode: str = Form("instant"),
    db: Session = Depends(session),
) -> Response:
    _form_guard(request, db)
    try:
        figure = float(min_figure) if min_figure.strip() else None
    except ValueError:
        return _back(f"not added: minimum figure {min_figure!r} is not a number")
    try:
        data, secret = create_subscription(
            db,
            {
                "name": name,
                "channel": channel,
                "target": target,
                "topics": topics,
                "languages": languages,
                "keywords": keywords,
                "min_figure": figure,
                "mode": mode,
            },
        )
    except InvalidInput as exc:
        return _back(f"not added: {exc.message}")
    if channel in ("webhook", "atom"):
        # The secret is shown in this response, never put in a redirect URL (history, logs, Referer).
        return _subscriptions_page(request, db, f"subscription {data['id']} added", secret)
    return _back(f"subscription {data['id']} added")


@router.post("/subscriptions/{subscription_id}/{action}")
def change_subscription(
    request: Request, action: str, subscription_id: int = SubscriptionId, db: Session = Depends(session)
) -> Response:
    _form_guard(request, db)
    try:
        sub = stored_alerts.find_subscription(db, subscription_id)
    except NotFound as exc:
        return _back(exc.message)
    if action in ("pause", "resume"):
        stored_alerts.set_active(db, subscription_id, action == "resume")
        db.commit()
        return _back(f"subscription {subscription_id} {'resumed' if action == 'resume' else 'paused'}")
    if action == "delete":
        stored_alerts.delete_subscription(db, subscription_id)
        db.commit()
        return _back(f"subscription {subscription_id} deleted")
    if action == "test":
        outcome = send_test_alert(request.app.state.sessions, request.app.state.settings, sub)
        return _back(
            f"test alert to subscription {subscription_id}: "
            + ("delivered" if outcome.ok else f"failed: {test_error(outcome, token_of(request, db))}")
        )
    raise HTTPException(404, f"unknown action {action!r}")


@router.get("/atom/{secret:path}", name="atom_feed")  # :path: older secrets may hold "/"
def atom_feed(request: Request, secret: str, db: Session = Depends(session)) -> Response:
    """An Atom subscription's delivered alerts; the secret in the URL is the credential."""
    sub = db.scalars(select(Subscription).where(Subscription.secret == secret, Subscription.channel == "atom")).first()
    if sub is None:
        raise HTTPException(404, "no such feed")
    body = alerts_feed(sub.id, sub.name, sent_alerts(db, sub.id), self_url=str(request.url))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def local_path(target: str) -> str:
    """A redirect target on this site only ("//evil.example" and "/\\evil.example" are other sites)."""
    return target if re.fullmatch(r"/(?![/\\])[^\s]*", target) else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: str = "/", error: str | None = None, db: Session = Depends(session)
) -> HTMLResponse:
    return _page(request, "login.html", db, next=local_path(next), error=error)


@router.post("/login")
def login(request: Request, token: str = Form(...), next: str = Form("/"), db: Session = Depends(session)) -> Response:
    if not same_origin(request):
        raise HTTPException(403, "cross-site form post refused")
    target = local_path(next)
    if check_token(db, token.strip()) is None:
        return RedirectResponse(
            f"/login?{urlencode({'next': target, 'error': 'that token is not valid'})}", status_code=303
        )
    db.commit()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=30 * 24 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if not same_origin(request):
        raise HTTPException(403, "cross-site form post refused")
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response
