"""Power Platform commands: components, deployment settings, clone, and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from seeder.cli._app import (
    AuthOpt,
    BypassLogicOpt,
    JsonOpt,
    KeyFileOpt,
    ProfileOpt,
    SuppressCallbacksOpt,
    SuppressDupOpt,
    app,
    bypass,
    csv_list,
    emit_json,
    env_vars,
    err,
    fail_if,
    progress_callback,
    snapshot_key,
)

settings_app = typer.Typer(help="Deployment settings (pac solution create-settings JSON).", no_args_is_help=True)
app.add_typer(settings_app, name="settings")


@app.command()
def components(
    path: Annotated[Path, typer.Argument(help="Snapshot, unpacked solution folder or solution zip.")],
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List flows, connection references, environment variables, canvas apps, custom connectors, findings."""
    from seeder.describe import components_of

    found = components_of(path, key=snapshot_key(False, key_file))
    data = found.to_dict()
    if json_out:
        emit_json(data)
        return
    print(_components_text(data))


def _components_text(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for flow in data.get("flows", []):
        refs = ", ".join(flow.get("connection_references", [])) or "no connection references"
        lines.append(f"flow {flow.get('name')} [{flow.get('state', '?')}]: {refs}")
        for child in flow.get("child_flows", []):
            lines.append(f"    calls child flow {child}")
    for ref in data.get("connection_references", []):
        lines.append(f"connection reference {ref.get('logical_name')} → {ref.get('connector')}")
    for var in data.get("environment_variables", []):
        lines.append(f"environment variable {var.get('schema_name')}")
    for app_ in data.get("canvas_apps", []):
        lines.append(f"canvas app {app_.get('name')}")
    for conn in data.get("custom_connectors", []):
        lines.append(f"custom connector {conn.get('name')}")
    for finding in data.get("findings", []):
        lines.append(f"{finding.get('severity')}: {finding.get('message')}")
    return "\n".join(lines) or "no components"


@settings_app.command("generate")
def settings_generate(
    env: Annotated[str, typer.Option("--env", help="Target environment URL.")],
    snapshot: Annotated[Path, typer.Option(help="Snapshot (or solution) whose components need wiring.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the settings JSON here (else stdout).")] = None,
    base: Annotated[Path | None, typer.Option(help="Existing settings file whose values are kept.")] = None,
    auth: AuthOpt = None, profile: ProfileOpt = None,
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Propose connection ids by matching each reference's connector to the target's connections."""
    from seeder.cli._app import connect
    from seeder.components import DeploymentSettings
    from seeder.describe import components_of
    from seeder.wiring import generate_settings

    found = components_of(snapshot, key=snapshot_key(False, key_file))
    given = DeploymentSettings.load(base) if base else None
    with connect(env, auth, profile) as environment:
        proposal = generate_settings(environment, found, given)
    if out is not None:
        proposal.settings.dump(out)
    if json_out:
        emit_json(proposal.to_dict())
    elif out is None:
        print(proposal.settings.dumps())
    for finding in proposal.findings:
        err.print(f"{finding.severity}: {finding.message}", markup=False)
    fail_if(bool(proposal.findings), 9)


@app.command()
def clone(
    source: Annotated[str, typer.Option("--source", help="Source environment URL.")],
    target: Annotated[str, typer.Option("--target", help="Target environment URL (a sandbox).")],
    rules: Annotated[Path | None, typer.Option(help="Masking rule set (YAML).")] = None,
    subset: Annotated[Path | None, typer.Option(help="Subset YAML: root rows and child paths.")] = None,
    settings: Annotated[Path | None, typer.Option(help="Deployment settings JSON for the target.")] = None,
    no_mask: Annotated[bool, typer.Option("--no-mask", help="Copy data unmasked (explicit opt-out).")] = False,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables (default: all).")] = None,
    auth: AuthOpt = None,
    source_auth: Annotated[str | None, typer.Option(help="Sign-in method for the source only.")] = None,
    target_auth: Annotated[str | None, typer.Option(help="Sign-in method for the target only.")] = None,
    profile: ProfileOpt = None,
    workdir: Annotated[Path, typer.Option(help="Where the stages keep their snapshots and journal.")]
    = Path(".seeder/clone"),
    resume: Annotated[bool, typer.Option(help="Reuse finished stages and resume the restore.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write the JSON report here.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write the validation as JUnit XML here.")] = None,
    mask_key_file: Annotated[Path | None, typer.Option(help="Masking key file (else SEEDER_MASK_KEY).")] = None,
    allow_production: Annotated[bool, typer.Option(help="Allow a production target.")] = False,
    keep_admin_mode: Annotated[bool, typer.Option(help="Leave the target in administration mode for review.")]
    = False,
    keep_source_export: Annotated[bool, typer.Option(help="Keep the unmasked export in the workdir.")] = False,
    bypass_business_logic: BypassLogicOpt = False,
    suppress_callbacks: SuppressCallbacksOpt = False,
    suppress_duplicate_detection: SuppressDupOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Export → mask → restore → re-wire → validate, resumably; exit non-zero unless all checks pass."""
    from contextlib import ExitStack

    from seeder.cli._app import connect
    from seeder.clone import CloneOptions
    from seeder.clone import clone as run_clone
    from seeder.masking import load_mask_key

    key = None if no_mask else load_mask_key(env_vars(), mask_key_file)
    options = CloneOptions(workdir=workdir, rules=rules, mask_key=key, no_mask=no_mask, subset=subset,
                           settings=settings, tables=csv_list(tables), allow_production=allow_production,
                           resume=resume, keep_admin_mode=keep_admin_mode,
                           keep_source_export=keep_source_export)
    flags = bypass(bypass_business_logic, suppress_callbacks, suppress_duplicate_detection)
    with ExitStack() as stack:
        src = stack.enter_context(connect(source, source_auth or auth, profile))
        dst = stack.enter_context(connect(target, target_auth or auth, profile, bypass=flags))
        result = run_clone(src, dst, options, progress=_stage_printer())
    _write_reports(result, report, junit)
    if json_out:
        emit_json(result.to_dict())
    else:
        print(_clone_text(result))
    fail_if(not result.ok, 1)


@app.command()
def demo(
    records: Annotated[int, typer.Option(help="Approximate size of the demo organisation.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the demo data.")] = 7,
    workdir: Annotated[Path | None, typer.Option(help="Keep the stages' snapshots here.")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write the JSON report here.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write the validation as JUnit XML here.")] = None,
) -> None:
    """Clone a demo production organisation into an empty sandbox, all on 127.0.0.1, and report."""
    from seeder.demo import run_demo

    result = run_demo(records=records, seed=seed, workdir=workdir, progress=_stage_printer())
    _write_reports(result.report, report, junit)
    print(f"source (production-like): {result.source_url}\ntarget (sandbox):         {result.target_url}")
    print(_clone_text(result.report))
    fail_if(not result.report.ok, 1)


def _stage_printer() -> Any:
    tick = progress_callback()

    def say(event: str, text: str) -> None:
        if event in ("stage", "target") and (tick is None or tick.ado is None):
            err.print(f"» {text}", markup=False)
        if tick is not None:
            tick(event, text)

    return say


def _write_reports(result: Any, report: Path | None, junit: Path | None) -> None:
    import orjson

    if report is not None:
        report.write_bytes(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    if junit is not None and result.validation is not None:
        junit.write_text(result.validation.to_junit(), encoding="utf-8")
        from seeder.ado import AdoLogger, in_azure_pipelines

        if in_azure_pipelines(env_vars()):
            print(AdoLogger().publish_junit(str(junit), "seeder validation"))


def _clone_text(result: Any) -> str:
    lines = ["", "Validation (post-copy checklist):"]
    if result.validation is not None:
        lines.append(result.validation.to_text())
    lines += ["", "Summary: " + result.summary_text()]
    return "\n".join(lines)
