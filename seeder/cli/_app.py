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


def _version(value: bool) -> None:
    if value:
        print(f"seeder {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="SEEDER_DEBUG", help="Show tracebacks for errors.")
    ] = False,
) -> None:
    """Clone Dataverse / Power Platform environments safely: export, plan, mask, restore, re-wire."""
    # --debug is read by main() before the command runs (tracebacks); declared here for --help
    if ctx.invoked_subcommand != "emulator":  # the emulator's first line must be its URL
        mask_secrets_in_pipeline()


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
ProfileOpt = Annotated[str | None, typer.Option("--profile", envvar="SEEDER_PROFILE", help=(
    "Named profile(s) in ~/.config/seeder/profiles.toml; several, comma-separated, spread the load over "
    "several application users."))]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def env_vars() -> dict[str, str]:
    return dict(os.environ)


def connect(url: str, auth: str | None, profile: str | None, **kwargs: Any) -> Any:
    """Sign in to ``url``; several comma-separated profiles fan out over several application users."""
    from seeder.dataverse import Environment, auth_from_options
    from seeder.dataverse.auth import replace_prompt

    def prompt(message: str) -> None:  # the device-code instructions go to the person, on stderr
        err.print(message, markup=False)

    profiles: list[str | None] = [p.strip() for p in (profile or "").split(",") if p.strip()] or [None]
    configs = [replace_prompt(auth_from_options(auth, name, env_vars()), prompt) for name in profiles]
    return Environment.connect(url, configs if len(configs) > 1 else configs[0], **kwargs)


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


class _Reporter:
    """Progress for people and pipelines: a live line on a terminal; in Azure Pipelines (``TF_BUILD``)
    one collapsible group per stage with ``##vso[task.setprogress]``; quiet otherwise."""

    STAGES = 6

    def __init__(self, ado: bool, tty: bool) -> None:
        from seeder.ado import AdoLogger

        self.ado = AdoLogger() if ado else None
        self.tty = tty
        self.open = False
        self.stage = 0

    def __call__(self, label: str, value: Any) -> None:
        if self.ado is not None:
            if label == "stage":
                self.close()
                self.stage += 1
                print(self.ado.group(str(value)), flush=True)
                print(self.ado.progress(min(99, 100 * self.stage // self.STAGES), str(value)), flush=True)
                self.open = True
            elif isinstance(value, str):
                print(value if label == "target" else f"{label}: {value}", flush=True)
            return
        if self.tty:
            end = "\r" if isinstance(value, int) else "\n"
            err.print(f"  {label}: {value}", markup=False, end=end)

    def close(self) -> None:
        if self.ado is not None and self.open:
            print(self.ado.endgroup(), flush=True)
            self.open = False


def progress_callback() -> Any:
    """The progress callback every long command passes to the library (``None`` when nobody watches)."""
    import atexit

    from seeder.ado import in_azure_pipelines

    ado = in_azure_pipelines(env_vars())
    if not ado and not err.is_terminal:
        return None
    reporter = _Reporter(ado, err.is_terminal)
    atexit.register(reporter.close)
    return reporter


def mask_secrets_in_pipeline() -> None:
    """In Azure Pipelines, ask the agent to mask every secret seeder may read from the environment."""
    from seeder.ado import AdoLogger, in_azure_pipelines

    env = env_vars()
    if not in_azure_pipelines(env):
        return
    for name in ("SEEDER_CLIENT_SECRET", "SEEDER_MASK_KEY", "SEEDER_SNAPSHOT_KEY", "SEEDER_STATIC_TOKEN",
                 "SEEDER_CERTIFICATE_PASSWORD", "SYSTEM_ACCESSTOKEN"):
        if env.get(name):
            print(AdoLogger().secret(env[name]), flush=True)


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


