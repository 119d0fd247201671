"""What every command shares: its options, its two consoles (people and errors), its --json output, and
the one place user mistakes become a message and an exit code instead of a traceback."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from nnlearn.cli.display import error_json, make_console, print_error
from nnlearn.cli.process import ignore_further_interrupts
from nnlearn.errors import NnlearnError
from nnlearn.jsonout import json_text

SetOption = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Override a config value, e.g. --set fit.epochs=3 or --set model.layers[0].units=32 "
         "(repeatable; checked by the same schema).")]


ExpectOption = Annotated[Optional[list[str]], typer.Option(
    "--expect", metavar="EXPECTATION",
    help='An expectation such as "accuracy>=0.95" or "validation_loss<=0.3" (test split unless named; '
         'repeatable), as in the config\'s expect: list. One not met exits 1.')]


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Do not show the config's warnings.")]


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout, for scripts and CI.")]


def consoles(as_json: bool) -> tuple[Console, Console]:
    """(people, errors): with --json, everything for people goes to stderr."""
    errors = make_console(stderr=True)
    return (errors if as_json else make_console()), errors


def emit(as_json: bool, result) -> None:
    """With --json, the command's result (a dict, or an object with to_json()) as one JSON object on
    stdout; everything for people went to stderr (see consoles)."""
    if as_json:
        print(json_text(result), flush=True)


@contextmanager
def handled(as_json: bool):
    """User mistakes: a message and exit 2; failed runs: exit 1; Ctrl-C: exit 130. No tracebacks."""
    _, errors = consoles(as_json)
    try:
        yield
    except NnlearnError as error:
        if error.exit_code in (130, 143):  # stopped by Ctrl-C or SIGTERM: a second press changes nothing now
            ignore_further_interrupts()
        print_error(errors, error)
        emit(as_json, error_json(error))
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        ignore_further_interrupts()
        errors.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except OSError as error:  # a folder that cannot be written, a full disk: the user's to fix
        where = f" {error.filename}" if error.filename else ""
        problem = NnlearnError(f"cannot read or write{where}: {error.strerror or error}.",
                               hint="check the path, its permissions and the free disk space.")
        print_error(errors, problem)
        emit(as_json, error_json(problem))
        raise typer.Exit(2) from None


def write_new(path: Path, text: str) -> None:
    """Write a file the user named, atomically, refusing to overwrite one that exists."""
    from nnlearn.runs.rundir import write_atomic

    refuse_existing(path)
    write_atomic(path, text)


def refuse_existing(path: Path | None) -> None:
    """Refuse an output file the user named that exists: checked before any work, and again when writing."""
    from nnlearn.errors import NnlearnError

    if path is not None and path.exists():
        raise NnlearnError(f"{path} already exists; nnlearn never overwrites your files.",
                           hint="give a new file name.")
