"""Commands that talk to environments: the emulator, doctor, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seeder.cli._app import (
    AuthOpt,
    JsonOpt,
    KeyFileOpt,
    ProfileOpt,
    app,
    connect,
    csv_list,
    emit_json,
    fail_if,
    pairs,
    progress_callback,
    report_warnings,
    snapshot_key,
)

# -- emulator ------------------------------------------------------------------------------------------

emulator_app = typer.Typer(help="The built-in Dataverse Web API emulator (127.0.0.1).", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")


@emulator_app.command("serve")
def emulator_serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 0,
    state: Annotated[Path | None, typer.Option(help="SQLite file so the environment survives restarts.")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo organisation and solution.")] = False,
    records: Annotated[int, typer.Option(help="Approximate number of demo records (0: reference data only).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the demo data.")] = 1,
    schema: Annotated[list[Path] | None, typer.Option(help="Add tables of an unpacked solution or CMT schema.")] = None,
    time_scale: Annotated[float, typer.Option(help="Shrink the limits' window and budgets by this factor.")] = 1.0,
    cost_ms: Annotated[str | None, typer.Option(help="Simulated server time: write=W,read=R,request=Q (ms).")] = None,
    faults: Annotated[str | None, typer.Option(help="Inject faults: 429=0.05,503=0.02,reset=0.01,slow=0.01")] = None,
    production: Annotated[bool, typer.Option(help="Mark the organisation as a production environment.")] = False,
    with_connections: Annotated[bool, typer.Option(help="Start with one connection per demo connector.")] = False,
    no_limits: Annotated[bool, typer.Option("--no-limits", help="Turn service-protection limits off.")] = False,
) -> None:
    """Serve an emulated Dataverse organisation until stopped; the first line printed is its URL."""
    from seeder.emulator import EmulatorConfig, parse_cost_ms, serve

    if not (host.startswith("127.") or host in ("localhost", "::1")):
        from seeder.errors import UsageError

        raise UsageError(f"the emulator only listens on loopback, not {host}", hint="use --host 127.0.0.1")
    config = EmulatorConfig(state=state, demo=demo, records=records, seed=seed, schema_paths=tuple(schema or ()),
                            time_scale=time_scale, cost_ms=parse_cost_ms(cost_ms), faults=faults,
                            production=production, with_connections=with_connections, limits=not no_limits)
    serve(config, host=host, port=port, on_ready=lambda url: print(f"listening on {url}", flush=True))


# -- environments --------------------------------------------------------------------------------------


@app.command()
def doctor(
    env: Annotated[str, typer.Option("--env", help="Environment URL, e.g. https://contoso.crm.dynamics.com.")],
    auth: AuthOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False,
) -> None:
    """Check sign-in, privileges, API version, limits and environment type, with a hint for each problem."""
    from seeder.dataverse import doctor as run_doctor

    with connect(env, auth, profile, check=False) as environment:
        report = run_doctor(environment)
    if json_out:
        emit_json(report.to_dict())
    else:
        for check in report.checks:
            print(f"{check.status.upper():<5} {check.name:<24} {check.detail}")
            if check.hint and check.status != "pass":
                print(f"      hint: {check.hint}")
    fail_if(not report.ok, 1)


@app.command()
def export(
    env: Annotated[str, typer.Option("--env", help="Source environment URL.")],
    out: Annotated[Path, typer.Option("--out", help="Directory of the new snapshot.")],
    auth: AuthOpt = None, profile: ProfileOpt = None,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables (default: all).")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="TABLE=ODATA row filter (repeatable).")] = None,
    fetchxml: Annotated[list[str] | None, typer.Option(help="TABLE=FILE FetchXML query (repeatable).")] = None,
    subset: Annotated[Path | None, typer.Option(help="Subset YAML: root rows and child paths.")] = None,
    since: Annotated[Path | None, typer.Option(help="Previous snapshot: export only changes since it.")] = None,
    encrypt: Annotated[bool, typer.Option(help="Encrypt chunks (AES-256-GCM) with SEEDER_SNAPSHOT_KEY.")] = False,
    key_file: KeyFileOpt = None,
    anomaly_threshold: Annotated[float, typer.Option(help="Warn when an incremental changes more than this "
                                                          "fraction of a table.")] = 0.5,
    json_out: JsonOpt = False,
) -> None:
    """Export tables and Power Platform components into a verifiable snapshot."""
    from seeder.export import ExportOptions, load_subset
    from seeder.export import export as run_export

    fetch = {t: Path(f).read_text(encoding="utf-8-sig") for t, f in pairs(fetchxml, "--fetchxml").items()}
    options = ExportOptions(tables=csv_list(tables), filters=pairs(filter_, "--filter"), fetchxml=fetch,
                            subset=load_subset(subset) if subset else None, since=since,
                            key=snapshot_key(encrypt, key_file) if encrypt or since else None,
                            anomaly_threshold=anomaly_threshold)
    with connect(env, auth, profile) as environment:
        report = run_export(environment, out, options, progress=progress_callback())
    report_warnings(report.warnings)
    if json_out:
        emit_json(report.to_dict())
    else:
        print(f"exported {report.rows} rows of {len(report.tables)} tables to {out} in {report.seconds:.1f}s"
              + (" (incremental)" if report.incremental else ""))


