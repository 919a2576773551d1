"""The ``seeder`` command line: a thin skin over the library.

``seeder.cli`` is the only package that imports typer and rich. Each command parses its options, calls
one library function and renders the report it returns. Errors become messages and exit codes here, in
:func:`main`, and nowhere else; ``--debug`` (or ``SEEDER_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from seeder.cli import cmd_data, cmd_environments, cmd_pp, cmd_snapshots  # noqa: F401  (registers commands)
from seeder.cli._app import app, err
from seeder.errors import SeederError, redact

__all__ = ["app", "main"]


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




