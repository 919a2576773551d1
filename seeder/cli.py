"""The ``seeder`` command line: a thin skin over the library.

This is the only module that imports typer and rich. Each command parses its options, calls one library
function and renders the report it returns. Errors become messages and exit codes here, in
:func:`main`, and nowhere else; ``--debug`` (or ``SEEDER_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from seeder.__about__ import __version__
from seeder.errors import SeederError, redact

app = typer.Typer(
    name="seeder",
    help="Clone Dataverse / Power Platform environments safely: export, plan, mask, restore, re-wire.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)
_debug = {"on": False}


def _version(value: bool) -> None:
    if value:
        print(f"seeder {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="SEEDER_DEBUG", help="Show tracebacks for errors.")
    ] = False,
) -> None:
    """Clone Dataverse / Power Platform environments safely: export, plan, mask, restore, re-wire."""
    _debug["on"] = debug


# -- rendering helpers ---------------------------------------------------------------------------------


def emit_json(data: Any) -> None:
    """Print ``data`` as indented, key-sorted JSON on standard output."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n")


def fail_if(condition: bool, code: int) -> None:
    """Exit with ``code`` when ``condition`` holds (reports that carry a verdict)."""
    if condition:
        raise typer.Exit(code)


def _report_error(exc: SeederError) -> int:
    err.print(f"error: {exc.message}", markup=False)
    if exc.hint:
        err.print(f"hint: {exc.hint}", markup=False)
    for key in ("status", "code", "request_id"):
        value = getattr(exc, key, None)
        if value:
            err.print(f"  {key}: {value}", markup=False)
    return exc.exit_code


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``seeder`` command: run, then turn errors into messages and exit codes."""
    from typer import _click
    from typer.exceptions import Abort, Exit
    from typer.main import get_command

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SEEDER_DEBUG", "") not in ("", "0")
    command = get_command(app)
    try:
        rc = command.main(args=args, prog_name="seeder", standalone_mode=False)
        code = rc if isinstance(rc, int) else 0
    except SeederError as exc:
        if debug:
            traceback.print_exc()
        code = _report_error(exc)
    except Exit as exc:
        code = exc.exit_code
    except _click.exceptions.ClickException as exc:
        exc.show()
        code = 2 if isinstance(exc, _click.exceptions.UsageError) else exc.exit_code
    except Abort:
        err.print("aborted")
        code = 130
    except KeyboardInterrupt:
        err.print("interrupted")
        code = 130
    except Exception as exc:  # a bug: say so plainly, never leak secrets
        if debug:
            traceback.print_exc()
        err.print(f"internal error: {redact(str(exc)) or type(exc).__name__}", markup=False)
        err.print("hint: run again with --debug and report the traceback", markup=False)
        code = 70
    sys.stdout.flush()
    raise SystemExit(code)


