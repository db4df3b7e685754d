"""API tokens: random, shown once, stored as SHA-256 (tokens are long and random, so a fast hash
is enough: there is nothing to guess by brute force)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsvigil.records import utcnow
from newsvigil.storage.models import ApiToken

PREFIX = "nv_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, admin: bool = False) -> tuple[ApiToken, str]:
    """A new token: its row, and the token itself (the only time it is known)."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_hash(token), created_at=utcnow(), revoked=False, admin=admin)
    session.add(row)
    session.flush()
    return row, token


def check_token(session: Session, token: str | None) -> ApiToken | None:
    """The live token row `token` belongs to, or None; records its use."""
    if not token or not token.startswith(PREFIX):
        return None
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _hash(token), ApiToken.revoked.is_(False))
    ).first()
    if row is not None:
        row.last_used_at = utcnow()
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> bool:
    row = session.get(ApiToken, token_id)
    if row is None:
        return False
    row.revoked = True
    return True
