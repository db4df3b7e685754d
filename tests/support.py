"""Helpers shared by the tests: where the checkout is, and how to run the command line."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "seeds" / "samples"
TOPICS = REPO_ROOT / "seeds" / "topics.yaml"


@dataclass
class Ran:
    """What a `newsvigil` command did: the fields of subprocess.CompletedProcess the tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def newsvigil(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Ran:
    """Run `newsvigil ARGS` as a fresh process would, but in this one (Typer's CliRunner): a start-up
    of the interpreter and its imports costs about a second, and the suite runs dozens of commands.

    The command sees the NEWSVIGIL_* variables of `env` and no others, the checkout as its working
    directory (where `.env` is read), `input` on stdin; it gets fresh settings, fresh consoles and an
    unconfigured root logger, as at start-up. An exception that escapes the command is printed to
    stderr with its traceback and exits 1, as the interpreter does: `"Traceback" not in stderr` holds
    its meaning. Kafka mode runs in a real process (`newsvigil_process`): its commands start faust
    and kafka-python clients, and `run --once` ends itself with SIGTERM.

    What needs a process of its own (signals, peak memory, `python -m newsvigil.cli` itself, a
    server for a browser) uses `newsvigil_process` or subprocess directly.
    """
    if (env or {}).get("NEWSVIGIL_BROKER", "").startswith("kafka://"):
        return newsvigil_process(*args, env=env, input=input)
    from newsvigil.cli import app
    from newsvigil.settings import get_settings

    variables: dict[str, str | None] = {key: None for key in os.environ if key.startswith("NEWSVIGIL_")}
    variables.update(env or {})  # None: unset while the command runs; CliRunner restores them after
    get_settings.cache_clear()
    try:
        with _fresh_logging(), contextlib.chdir(REPO_ROOT):
            result = _Runner().invoke(app, list(args), input=input, env=variables, prog_name="newsvigil")
    finally:
        get_settings.cache_clear()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Ran(["newsvigil", *args], result.exit_code, result.stdout, stderr)


def newsvigil_process(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Ran:
    """Run `python -m newsvigil.cli ARGS` in a real child process (the environment without the
    NEWSVIGIL_* variables, plus `env`; the checkout as working directory)."""
    done = subprocess.run(
        [sys.executable, "-m", "newsvigil.cli", *args],
        capture_output=True,
        text=True,
        env=process_env(env),
        input=input,
        timeout=120,
        cwd=REPO_ROOT,
    )
    return Ran(done.args, done.returncode, done.stdout, done.stderr)


def process_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its NEWSVIGIL_* variables, plus `env`: for a child."""
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")} | (env or {})


class _Runner(CliRunner):
    """CliRunner whose command prints through consoles made inside the isolation, as a new process
    makes them at start-up: rich decides colours when a console is built, from whether the stream is
    a terminal. The CLI's consoles were built at import, when the stream may have been a terminal
    (`pytest -s`); a pipe, as in a real child process, gets no colour codes."""

    @contextlib.contextmanager
    def isolation(self, *args, **kwargs) -> Iterator:  # type: ignore[override]
        with super().isolation(*args, **kwargs) as streams, _fresh_consoles():
            yield streams


@contextlib.contextmanager
def _fresh_consoles() -> Iterator[None]:
    """newsvigil.cli.console's `out` and `err`, wherever the CLI's modules imported them, replaced by
    new ones for the time of a command."""
    from newsvigil.cli import console

    fresh = {"out": (console.out, console.make_console()), "err": (console.err, console.make_console(stderr=True))}
    swapped: list[tuple[object, str, object]] = []
    try:
        for name, module in list(sys.modules.items()):
            if module is None or not (name == "newsvigil.cli" or name.startswith("newsvigil.cli.")):
                continue
            for attribute, (old, new) in fresh.items():
                if getattr(module, attribute, None) is old:
                    swapped.append((module, attribute, old))
                    setattr(module, attribute, new)
        yield
    finally:
        for module, attribute, old in swapped:
            setattr(module, attribute, old)


@contextlib.contextmanager
def _fresh_logging() -> Iterator[None]:
    """The root logger as a new process has it (no handlers, level WARNING), so that the command's
    logging.basicConfig takes effect and its log lines reach its stderr; pytest's handlers after.

    The tests' HTTP servers (pytest-httpserver: werkzeug) run in this process, not in the command's:
    their request log is kept out of the command's stderr (a handler of its own stops werkzeug from
    adding one, and nothing propagates to the root)."""
    root, server = logging.getLogger(), logging.getLogger("werkzeug")
    handlers, level = root.handlers[:], root.level
    propagate, quiet = server.propagate, logging.NullHandler()
    root.handlers = []
    root.setLevel(logging.WARNING)
    server.addHandler(quiet)
    server.propagate = False
    try:
        yield
    finally:
        server.removeHandler(quiet)
        server.propagate = propagate
        for handler in root.handlers:
            handler.close()
        root.handlers = handlers
        root.setLevel(level)
