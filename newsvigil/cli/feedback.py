"""`newsvigil feedback`: tell the detector that a figure it reported is wrong."""

from __future__ import annotations

import json
from typing import Any

import typer

from newsvigil.cli.console import out, user_errors
from newsvigil.cli.errors import UserError


@user_errors
def feedback(
    article_id: str | None = typer.Argument(
        None, help="The article's id (as `detect`, the API and the article page show it)."
    ),
    not_troops: float | None = typer.Option(
        None, "--not-troops", metavar="VALUE", help="A figure of the article that is not a count of troops."
    ),
    note: str | None = typer.Option(None, "--note", help="Why, in a few words (e.g. 'police officers')."),
    list_: bool = typer.Option(False, "--list", help="List every figure marked wrong (JSON lines), then stop."),
) -> None:
    """Record that a detected troop figure is wrong, so that real mistakes become labelled cases.

    `bench/score_corpus.py --feedback` lists them too.
    """
    if list_:
        for row in feedback_rows():
            out.print(json.dumps(row, ensure_ascii=False), markup=False, highlight=False, soft_wrap=True)
        return
    if article_id is None or not_troops is None:
        raise UserError(
            "give an article id and --not-troops VALUE", "e.g. newsvigil feedback 3f2a9c --not-troops 2 (or --list)"
        )
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.feedback import record_feedback

    with open_database() as sessions, sessions.begin() as session:
        _, new = record_feedback(session, article_id, not_troops, note=note, created_by="cli")
    said = "recorded" if new else "already recorded"
    out.print(f"{said}: {not_troops:g} in article {article_id} is not a troop figure", markup=False)


def feedback_rows() -> list[dict[str, Any]]:
    """Every figure users marked wrong, from the configured database."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.feedback import list_feedback

    with open_database() as sessions, sessions() as session:
        return list_feedback(session)
