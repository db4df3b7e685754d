"""`newsvigil serve` (dashboard and HTTP API) and `newsvigil tokens ...` (API tokens)."""

from __future__ import annotations

import json
from typing import Any

import typer

from newsvigil.cli.console import out, user_errors
from newsvigil.cli.errors import UserError
from newsvigil.settings import get_settings

tokens_app = typer.Typer(
    help="API tokens of the HTTP API and dashboard (stored hashed; shown once).", no_args_is_help=True
)


@user_errors
def serve(
    host: str | None = typer.Option(
        None, "--host", help="Address to listen on (default NEWSVIGIL_WEB_HOST, 127.0.0.1)."
    ),
    port: int | None = typer.Option(None, "--port", help="Port (default NEWSVIGIL_WEB_PORT, 8080)."),
) -> None:
    """Serve the dashboard and the HTTP API (OpenAPI at /openapi.json, /docs), /healthz and /metrics."""
    import uvicorn

    from newsvigil.storage.database import shown_url
    from newsvigil.web.app import create_app

    settings = get_settings()
    host, port = host or settings.web_host, port or settings.web_port
    app = create_app(settings)
    access = "public read-only dashboard" if settings.public_dashboard else "every page needs a token"
    out.print(f"newsvigil: dashboard on http://{host}:{port}/ ({access}; database {shown_url(settings.database_url)})")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}", "choose another --port") from None


@tokens_app.command("add")
@user_errors
def add(
    name: str = typer.Argument(..., help="Who or what uses the token (e.g. analyst-desk)."),
    admin: bool = typer.Option(
        False, "--admin", help="Also see the network details of delivery tests (operators only)."
    ),
) -> None:
    """Create a token and print it (the only time it is shown)."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.tokens import create_token

    with open_database() as sessions, sessions.begin() as session:
        row, token = create_token(session, name, admin=admin)
        out.print(f"token {row.id} ({name}{', admin' if admin else ''}): {token}", markup=False)
    out.print(
        "keep it now: only its hash is stored. Send it as `Authorization: Bearer <token>`, or sign in with it on the dashboard."
    )


@tokens_app.command("list")
@user_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """List tokens (never the tokens themselves)."""
    from newsvigil.records import utc_iso
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.tokens import list_tokens

    with open_database() as sessions, sessions() as session:
        for row in list_tokens(session):
            data: dict[str, Any] = {
                "id": row.id,
                "name": row.name,
                "created_at": utc_iso(row.created_at),
                "last_used_at": utc_iso(row.last_used_at),
                "revoked": row.revoked,
            }
            if as_json:
                out.print(json.dumps(data), markup=False)
            else:
                out.print(
                    f"{row.id:4} {row.name} created {data['created_at'][:16]} last used {(data['last_used_at'] or 'never')[:16]}"
                    + (" REVOKED" if row.revoked else ""),
                    markup=False,
                )


@tokens_app.command("revoke")
@user_errors
def revoke(token_id: int = typer.Argument(..., help="Token id (see `newsvigil tokens list`).")) -> None:
    """Revoke a token: it stops working at once."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.tokens import revoke_token

    with open_database() as sessions, sessions.begin() as session:
        if not revoke_token(session, token_id):
            raise UserError(f"no token {token_id}", "see `newsvigil tokens list`")
    out.print(f"token {token_id} revoked")
