"""`newsvigil feeds ...`: feed health, and feeds added beside the configured list."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import typer
from rich.text import Text

from newsvigil.cli.console import out, user_errors
from newsvigil.cli.errors import UserError
from newsvigil.settings import get_settings

feeds_app = typer.Typer(help="Feed health and management (list, add, remove, import, export).", no_args_is_help=True)


@feeds_app.command("list")
@user_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """Every known feed with its health: last status, last success, errors in a row, next poll, items/day."""
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.repositories import feed_health

    settings = get_settings()
    with open_database() as sessions, sessions() as session:
        rows = feed_health(session, settings.feed_failing_after)
    for row in rows:
        if as_json:
            out.print(json.dumps(row, ensure_ascii=False), markup=False)
            continue
        if row["failing"]:
            flag = Text(f"FAILING ({row['consecutive_errors']} in a row): {row['last_error']}", style="red")
        elif row["consecutive_errors"]:
            flag = Text(f"{row['consecutive_errors']} error(s): {row['last_error']}", style="yellow")
        else:
            flag = Text("ok", style="green")
        out.print(
            Text.assemble(
                f"{row['url']}  status={row['last_status'] or '-'} last-success={row['last_success'] or 'never'} "
                f"next={row['next_poll'] or '-'} {row['items_per_day']}/day ",
                flag,
            )
        )


@feeds_app.command("add")
@user_errors
def add(
    url: str = typer.Argument(..., help='A feed URL, or a page that links its feed (<link rel="alternate">).'),
) -> None:
    """Add a feed (discovered from a web page if needed); it is polled from the next cycle on."""
    from newsvigil.ingest.discover import discover_feed
    from newsvigil.ingest.fetch import client_for
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.repositories import add_user_feeds

    settings = get_settings()
    if not url.lower().startswith(("http://", "https://")):
        raise UserError(f"{url!r} is not an http(s) URL", "give the full address, e.g. https://example.org/rss")

    async def find() -> tuple[str, str | None]:
        async with client_for(settings) as client:
            return await discover_feed(client, url, max_bytes=settings.max_body_bytes, deadline=settings.fetch_timeout)

    try:
        feed_url, title = asyncio.run(find())
    except ValueError as exc:
        raise UserError(f"no feed added: {exc}", "check the address, or give the feed URL itself") from None
    with open_database() as sessions, sessions.begin() as session:
        add_user_feeds(session, [(feed_url, title, None)])
    out.print(f"added {feed_url}" + (f" ({title})" if title else "") + (f", found on {url}" if feed_url != url else ""))


@feeds_app.command("remove")
@user_errors
def remove(url: str = typer.Argument(..., help="Feed URL as `feeds list` shows it.")) -> None:
    """Forget a feed and its state (a feed of the configured list comes back unless removed there too)."""
    from newsvigil.errors import FeedListError
    from newsvigil.ingest.feeds import load_feed_list
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.repositories import remove_feed

    with open_database() as sessions, sessions.begin() as session:
        if not remove_feed(session, url):
            raise UserError(f"no feed {url}", "see `newsvigil feeds list`")
    out.print(f"removed {url}")
    try:
        listed = {f.url for f in load_feed_list(get_settings().feeds)}
    except FeedListError:  # a broken list does not undo the removal: it is reported when polling starts
        listed = set()
    if url in listed:
        out.print(f"note: {url} is in {get_settings().feeds}; remove it there too or it is polled again")


@feeds_app.command("import")
@user_errors
def import_(path: Path = typer.Argument(..., help="OPML file, or text file with one URL per line.")) -> None:
    """Add every feed of an OPML (or plain text) file."""
    from newsvigil.ingest.feeds import load_feed_list
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.repositories import add_user_feeds

    feeds = load_feed_list(path)
    with open_database() as sessions, sessions.begin() as session:
        add_user_feeds(session, [(f.url, f.title, f.language) for f in feeds])
    out.print(f"imported {len(feeds)} feeds from {path}")


@feeds_app.command("export")
@user_errors
def export() -> None:
    """Print every feed (configured list and added ones) as OPML."""
    from newsvigil.ingest.feeds import load_feed_list
    from newsvigil.runtime.components import open_database
    from newsvigil.storage.repositories import user_feeds

    with open_database() as sessions, sessions() as session:
        added = user_feeds(session)
    listed = [(f.url, f.title, f.language) for f in load_feed_list(get_settings().feeds)]
    seen: set[str] = set()
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head><title>newsvigil feeds</title></head>",
        "  <body>",
    ]
    for url, title, language in listed + added:
        if url in seen:
            continue
        seen.add(url)
        attrs = f' type="rss" text={quoteattr(title or url)} xmlUrl={quoteattr(url)}' + (
            f" language={quoteattr(language)}" if language else ""
        )
        lines.append(f"    <outline{attrs}/>")
    lines += ["  </body>", "</opml>"]
    typer.echo("\n".join(lines))
