"""Generate ``docs/cli.md`` from the ``--help`` of every seeder command, or check that it is current.

    python docs/cli_reference.py --write    # regenerate
    python docs/cli_reference.py --check    # exit 1 when docs/cli.md is stale (run by `make test`)
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from seeder.cli import app

TARGET = Path(__file__).with_name("cli.md")


def command_paths() -> list[list[str]]:
    """Every command path, e.g. ``[[], ["export"], ["emulator", "serve"]]``, sorted."""
    root = get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: object, prefix: list[str]) -> None:
        paths.append(prefix)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if not getattr(sub, "hidden", False):
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def render() -> str:
    runner = CliRunner()
    parts = [
        "# CLI reference",
        "",
        "Generated from `seeder --help` by `python docs/cli_reference.py --write`; `make test` checks it is current.",
        "",
    ]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], prog_name="seeder", env={"COLUMNS": "100", "NO_COLOR": "1"})
        if result.exit_code != 0:
            raise SystemExit(f"`seeder {' '.join(path)} --help` failed: {result.output}")
        title = "seeder " + " ".join(path) if path else "seeder"
        parts += [f"## `{title.strip()}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        TARGET.write_text(text, encoding="utf-8")
        return 0
    if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != text:
        print("docs/cli.md is out of date: run `make docs` (python docs/cli_reference.py --write)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
