"""`newsvigil serve`: the dashboard (server-rendered pages) and the HTTP API, one FastAPI app.

Handlers only wire storage queries and pure renderers to HTTP. Every response carries a strict
Content-Security-Policy: no script runs on these pages, so no feed text can run any.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsvigil import __version__
from newsvigil.errors import InvalidInput, NotFound
from newsvigil.records import utcnow
from newsvigil.runtime.components import connect
from newsvigil.settings import Settings
from newsvigil.storage.models import AlertRow, ArticleRow, StoryRow
from newsvigil.storage.queries import BadCursor
from newsvigil.web import api, pages, series
from newsvigil.web.auth import LoginRequired, Unauthorized

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# FastAPI's /docs page loads Swagger UI's script and styles from a CDN.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; style-src https://cdn.jsdelivr.net; "
    "img-src https://fastapi.tiangolo.com data:; connect-src 'self'"
)


class Metrics:
    """Prometheus metrics of the web process; row counts are read at scrape time."""

    def __init__(self, sessions: Any) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("newsvigil_http_requests", "HTTP requests", ["route", "status"], registry=self.registry)
        self.latency = Histogram(
            "newsvigil_http_request_seconds",
            "HTTP request time",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        rows = Gauge("newsvigil_rows", "Rows stored", ["table"], registry=self.registry)
        alerts = Gauge("newsvigil_alerts", "Alerts by delivery status", ["status"], registry=self.registry)

        def collect_rows() -> None:
            with sessions() as session:
                for name, model in (("articles", ArticleRow), ("stories", StoryRow)):
                    rows.labels(name).set(session.scalar(select(func.count()).select_from(model)) or 0)
                for status, count in session.execute(select(AlertRow.status, func.count()).group_by(AlertRow.status)):
                    alerts.labels(status).set(count)

        self.refresh = collect_rows


class SecurityHeadersAndMetrics:
    """Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs more than our queries): security
    headers on every response, request counts and latency by route."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        csp = (DOCS_CSP if scope["path"] == "/docs" else CSP).encode()
        status = [500]

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *list(message.get("headers", [])),
                    (b"content-security-policy", csp),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, str(status[0])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def create_app(settings: Settings) -> FastAPI:
    """The app over the configured database (migrated first)."""
    components = connect(settings)
    sessions = components.sessions

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        components.close()

    app = FastAPI(
        title="newsvigil",
        version=__version__,
        lifespan=lifespan,
        description="News monitoring: stories, events, articles, feeds, subscriptions and alerts. "
        "Lists are newest first and paged with `cursor` (the `next` of the previous page). "
        "Send `Authorization: Bearer <token>` (`newsvigil tokens add NAME`) for subscriptions, "
        "alerts and anything that changes state.",
    )
    app.state.settings = settings
    app.state.sessions = sessions
    metrics = app.state.metrics = Metrics(sessions)

    app.add_middleware(SecurityHeadersAndMetrics, metrics=metrics)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=422)

    @app.exception_handler(BadCursor)
    async def bad_cursor(request: Request, exc: BadCursor) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/healthz", tags=["operations"])
    def healthz(session: Session = Depends(api.session)) -> dict[str, Any]:
        """Liveness and database reachability."""
        session.execute(select(1))
        return {"status": "ok", "version": __version__, "time": utcnow().isoformat()}

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse, dependencies=[Depends(api.reader)])
    def prometheus() -> PlainTextResponse:
        """Prometheus metrics: requests, latency, rows stored, alerts by status (a token when the dashboard is private)."""
        metrics.refresh()
        return PlainTextResponse(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(series.api_router)
    app.include_router(pages.router)
    app.include_router(series.page_router)
    return app
