"""The command line's contract: version, help, the public API list, and errors turned into exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seeder
from seeder import cli
from seeder.errors import DataverseError, SeederError, UsageError

REPO = Path(__file__).resolve().parents[2]


def test_version_and_module_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "seeder", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"seeder {seeder.__version__}"


def test_public_api_is_complete_and_sorted() -> None:
    assert list(seeder.__all__) == sorted(seeder.__all__)
    public = {n for n in vars(seeder) if not n.startswith("_") and n not in {"annotations"}}
    public |= {"__version__"}
    modules = {n for n in public if type(getattr(seeder, n)).__name__ == "module"}
    assert set(seeder.__all__) == public - modules
    for name in seeder.__all__:
        assert hasattr(seeder, name)


def test_every_command_has_help_and_is_in_the_reference() -> None:
    sys.path.insert(0, str(REPO / "docs"))
    try:
        import cli_reference
    finally:
        sys.path.pop(0)
    reference = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    runner = CliRunner()
    paths = cli_reference.command_paths()
    assert len(paths) >= 1
    for path in paths:
        result = runner.invoke(cli.app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output
        if path:
            assert f"## `seeder {' '.join(path)}`" in reference, f"seeder {' '.join(path)} missing from docs/cli.md"
            # a command with no help text renders an empty description block
            assert len(result.output.strip().splitlines()) > 3, path


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UsageError("bad --tables value", hint="use T1,T2"), 2),
        (DataverseError("Principal user is missing prvReadAccount", status=403, code="0x80040220",
                        request_id="r-1"), 4),
        (SeederError("generic"), 1),
    ],
)
def test_errors_become_messages_and_exit_codes_in_one_place(
    exc: SeederError, code: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    @cli.app.command("raise-for-test", hidden=True)
    def _raise() -> None:
        raise exc

    try:
        with pytest.raises(SystemExit) as done:
            cli.main(["raise-for-test"])
    finally:
        cli.app.registered_commands = [c for c in cli.app.registered_commands if c.name != "raise-for-test"]
    assert done.value.code == code
    stderr = capsys.readouterr().err
    assert f"error: {exc.message}" in stderr
    if exc.hint:
        assert f"hint: {exc.hint}" in stderr
    if isinstance(exc, DataverseError):
        assert "request_id: r-1" in stderr and "0x80040220" in stderr
    assert "Traceback" not in stderr


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    @cli.app.command("raise-for-test", hidden=True)
    def _raise() -> None:
        raise UsageError("boom")

    try:
        with pytest.raises(SystemExit) as done:
            cli.main(["--debug", "raise-for-test"])
    finally:
        cli.app.registered_commands = [c for c in cli.app.registered_commands if c.name != "raise-for-test"]
    assert done.value.code == 2
    assert "Traceback" in capsys.readouterr().err


def test_an_unexpected_bug_never_prints_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    @cli.app.command("raise-for-test", hidden=True)
    def _raise() -> None:
        raise RuntimeError("Authorization: Bearer eyJabcdefghij.eyJklmnopqrst.signature123")

    try:
        with pytest.raises(SystemExit) as done:
            cli.main(["raise-for-test"])
    finally:
        cli.app.registered_commands = [c for c in cli.app.registered_commands if c.name != "raise-for-test"]
    assert done.value.code == 70
    stderr = capsys.readouterr().err
    assert "eyJabcdefghij" not in stderr and "internal error" in stderr
