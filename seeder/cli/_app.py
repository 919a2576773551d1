"""The typer application, the consoles, and the options and helpers every command shares."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from seeder.__about__ import __version__

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


def text_of(report: Any) -> str:
    """A report as text: its own ``to_text()`` when it has one, else its JSON fields as ``key: value`` lines."""
    render = getattr(report, "to_text", None)
    if callable(render):
        return str(render())
    lines: list[str] = []

    def walk(value: Any, indent: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, (dict, list)) and item:
                    lines.append(f"{indent}{key}:")
                    walk(item, indent + "  ")
                else:
                    lines.append(f"{indent}{key}: {item}")
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    lines.append(f"{indent}- " + ", ".join(f"{k}={v}" for k, v in item.items()))
                else:
                    lines.append(f"{indent}- {item}")

    walk(report.to_dict(), "")
    return "\n".join(lines)


def fail_if(condition: bool, code: int) -> None:
    """Exit with ``code`` when ``condition`` holds (reports that carry a verdict)."""
    if condition:
        raise typer.Exit(code)


# -- shared options and helpers ------------------------------------------------------------------------

AuthOpt = Annotated[str | None, typer.Option("--auth", envvar="SEEDER_AUTH", help=(
    "Sign-in method: none, secret, certificate, device-code, managed-identity, azure-cli, azure-pipelines."))]
ProfileOpt = Annotated[str | None, typer.Option("--profile", envvar="SEEDER_PROFILE",
                                                help="Named profile in ~/.config/seeder/profiles.toml.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def env_vars() -> dict[str, str]:
    return dict(os.environ)


def connect(url: str, auth: str | None, profile: str | None, **kwargs: Any) -> Any:
    from seeder.dataverse import Environment, auth_from_options

    return Environment.connect(url, auth_from_options(auth, profile, env_vars()), **kwargs)


def bypass(bypass_logic: bool, suppress_callbacks: bool, suppress_duplicates: bool) -> Any:
    from seeder.dataverse import Bypass

    return Bypass(business_logic_execution="CustomSync,CustomAsync" if bypass_logic else "",
                  suppress_callback_registration_expander_job=suppress_callbacks,
                  suppress_duplicate_detection=True if suppress_duplicates else None)


BypassLogicOpt = Annotated[bool, typer.Option("--bypass-business-logic",
                                              help="Send BypassBusinessLogicExecution (plug-ins and flows off).")]
SuppressCallbacksOpt = Annotated[bool, typer.Option("--suppress-callbacks",
                                                    help="Send SuppressCallbackRegistrationExpanderJob.")]
SuppressDupOpt = Annotated[bool, typer.Option("--suppress-duplicate-detection",
                                              help="Send MSCRM.SuppressDuplicateDetection.")]


def pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """``TABLE=VALUE`` options into a dict."""
    from seeder.errors import UsageError

    out: dict[str, str] = {}
    for item in values or []:
        table, sep, value = item.partition("=")
        if not sep or not table or not value:
            raise UsageError(f"{what} {item!r} must look like TABLE=VALUE")
        out[table.strip()] = value
    return out


def csv_list(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    return tuple(sorted({v.strip() for v in value.split(",") if v.strip()}))


def progress_callback() -> Any:
    """A progress callback: a live line on a terminal, ``##vso`` progress in Azure Pipelines, else quiet."""
    from seeder.ado import AdoLogger, in_azure_pipelines

    if in_azure_pipelines(env_vars()):
        ado = AdoLogger()

        def tick_ado(label: str, n: Any) -> None:
            print(ado.group(f"{label}: {n}") + "\n" + ado.endgroup() if label == "step" else f"{label}: {n}",
                  file=sys.stderr)

        return tick_ado
    if not err.is_terminal:
        return None

    def tick(label: str, n: Any) -> None:
        err.print(f"  {label}: {n}", markup=False, end="\r" if isinstance(n, int) else "\n")

    return tick


def report_warnings(warnings: list[str]) -> None:
    from seeder.ado import AdoLogger, in_azure_pipelines

    for w in warnings:
        if in_azure_pipelines(env_vars()):
            print(AdoLogger().issue(w))
        else:
            err.print(f"warning: {w}", markup=False)


def snapshot_key(encrypt: bool, key_file: Path | None) -> bytes | None:
    from seeder.errors import UsageError
    from seeder.snapshot import load_key

    key = load_key(env_vars(), key_file)
    if encrypt and key is None:
        raise UsageError("--encrypt needs a key",
                         hint="set SEEDER_SNAPSHOT_KEY (32 bytes, base64 or hex) or --key-file")
    return key


KeyFileOpt = Annotated[Path | None, typer.Option("--key-file", help="Snapshot key file (else SEEDER_SNAPSHOT_KEY).")]


