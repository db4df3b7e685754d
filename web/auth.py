"""Who may do what: API tokens (Bearer header, or the login cookie of the dashboard).

Anything that changes state or shows subscriptions and alerts needs a token; the read-only
dashboard and API need one only when NEWSVIGIL_PUBLIC_DASHBOARD is off.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy.orm import Session

from newsvigil.storage.models import ApiToken
from newsvigil.storage.tokens import check_token

COOKIE = "nv_token"
_UNKNOWN: Any = object()


class Unauthorized(Exception):
    """API call without a valid token (401)."""


class LoginRequired(Exception):
    """Page that needs a token, opened without one (redirect to /login)."""


def presented_token(request: Request) -> str | None:
    """The token of a request: `Authorization: Bearer ...`, else the dashboard's login cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


def token_of(request: Request, session: Session) -> ApiToken | None:
    """The live token of the request, looked up once per request (pages ask more than once)."""
    row = getattr(request.state, "token", _UNKNOWN)
    if row is _UNKNOWN:
        row = check_token(session, presented_token(request))
        if row is not None:
            session.commit()  # last_used_at
        request.state.token = row
    return row


def may_read(request: Request, session: Session) -> bool:
    """Read-only pages and API: open when the dashboard is public, else a token is needed."""
    return request.app.state.settings.public_dashboard or token_of(request, session) is not None


def same_origin(request: Request) -> bool:
    """A form post from our own pages (the cookie is SameSite=Strict too; this is the second lock)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    return not origin or urlsplit(origin).netloc == request.headers.get("host")
