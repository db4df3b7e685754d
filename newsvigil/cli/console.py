"""The console the CLI prints to, and how user errors are reported (one line plus a hint).

Markup is off on both consoles: feed titles, HTTP reasons, error messages and URLs are untrusted
text, and "[/]" in a reason phrase must print as itself, not end the program with a MarkupError.
Style comes only from `styled`, which never parses its text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from newsvigil.cli.errors import hint_for
from newsvigil.errors import NewsvigilError


def make_console(stderr: bool = False) -> Console:
    """A console printing to sys.stdout (or sys.stderr) as it is at each print; rich decides on
    colour when the console is built, from whether that stream is a terminal then. (The tests build
    fresh ones around an in-process command, as a new process builds these at start-up.)"""
    return Console(stderr=stderr, markup=False, highlight=False, soft_wrap=True)


out = make_console()
err = make_console(stderr=True)


def styled(label: str, style: str, rest: Any = "") -> Text:
    """'label' in `style`, then `rest` as plain text: untrusted text is never read as markup."""
    return Text.assemble((label, style), " ", str(rest)) if rest != "" else Text(label, style=style)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Report the library's errors (and bad settings) as one line plus a hint, exit code 2; Ctrl-C exits quietly."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pydantic import ValidationError

        try:
            return command(*args, **kwargs)
        except NewsvigilError as exc:
            err.print(styled("error:", "bold red", exc.message))
            if hint := hint_for(exc):
                err.print(styled("hint:", "dim", hint))
            raise typer.Exit(2) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            field = "NEWSVIGIL_" + str(first["loc"][0]).upper() if first.get("loc") else "a NEWSVIGIL_ setting"
            err.print(styled("error:", "bold red", f"{field}: {first['msg']}"))
            err.print(styled("hint:", "dim", "see 'Settings' in README.md"))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("stopped")
            raise typer.Exit(130) from None

    return wrapper


def progress_bar(label: str, unit: str = "items", *, auto_refresh: bool = True):
    """A progress bar on stderr (only on a terminal): done/total, rate and time left. Without
    `auto_refresh` it starts no thread and redraws on each `advance(..., refresh)` call."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed:,.0f} {unit}/s" if task.speed else "", style="progress.data.speed")

    return Progress(
        TextColumn(label, markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        Rate(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
        auto_refresh=auto_refresh,
    )
