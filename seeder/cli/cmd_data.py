"""Commands that plan, mask and restore data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    connect,
    csv_list,
    emit_json,
    env_vars,
    err,
    fail_if,
    pairs,
    progress_callback,
    snapshot_key,
    text_of,
)
from seeder.cli.cmd_snapshots import parse_time


@app.command()
def plan(
    snapshot: Annotated[Path | None, typer.Option(help="Plan from a snapshot's schema.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Plan from an environment's metadata.")] = None,
    cmt_schema: Annotated[Path | None, typer.Option(help="Plan from a CMT data_schema.xml (or package).")] = None,
    solution: Annotated[Path | None, typer.Option(help="Plan from an unpacked solution or a solution zip.")] = None,
    auth: AuthOpt = None, profile: ProfileOpt = None,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables (default: all).")] = None,
    outside: Annotated[str, typer.Option(help="Lookups leaving the selection: match, null or error.")] = "match",
    format_: Annotated[str, typer.Option("--format", help="text, json, dot or mermaid.")] = "text",
    key_file: KeyFileOpt = None,
) -> None:
    """Show the order a restore writes tables in, and explain every deferred lookup."""
    from seeder.describe import plan_for, schema_of
    from seeder.errors import UsageError
    from seeder.plan import render

    if format_ not in ("text", "json", "dot", "mermaid"):
        raise UsageError(f"unknown format {format_!r}", hint="use text, json, dot or mermaid")
    if env is not None:
        if any(p is not None for p in (snapshot, cmt_schema, solution)):
            raise UsageError("give exactly one schema source")
        with connect(env, auth, profile) as environment:
            schema = environment.schema(list(csv_list(tables) or ()) or None)
    else:
        schema = schema_of(snapshot=snapshot, cmt_schema=cmt_schema, solution=solution,
                           key=snapshot_key(False, key_file) if snapshot else None)
    print(render(plan_for(schema, csv_list(tables), outside=outside), format_))


@app.command()
def mask(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot to mask.")],
    rules: Annotated[Path, typer.Option(help="Masking rule set (YAML).")] = Path("masking_rules/default.yaml"),
    out: Annotated[Path | None, typer.Option("--out", help="Directory of the masked snapshot.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Only check that every PII-like column is covered.")]
    = False,
    mask_key_file: Annotated[Path | None, typer.Option(help="Masking key file (else SEEDER_MASK_KEY).")] = None,
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mask PII deterministically into a new snapshot, or gate a pipeline on rule coverage (--check)."""
    from seeder.errors import UsageError
    from seeder.mask import check_coverage, mask_snapshot
    from seeder.masking import load_mask_key

    if check:
        coverage = check_coverage(snapshot, rules)
        if json_out:
            emit_json(coverage.to_dict())
        else:
            print(text_of(coverage))
        fail_if(not coverage.ok, 7)
        return
    if out is None:
        raise UsageError("--out is required to write a masked snapshot", hint="or pass --check to lint coverage")
    key = load_mask_key(env_vars(), mask_key_file)
    report = mask_snapshot(snapshot, out, rules=rules, key=key, snapshot_key=snapshot_key(False, key_file),
                           progress=progress_callback())
    if json_out:
        emit_json(report.to_dict())
    else:
        print(text_of(report))


@app.command()
def leakcheck(
    original: Annotated[Path, typer.Argument(help="The unmasked snapshot.")],
    masked: Annotated[Path, typer.Argument(help="The masked snapshot.")],
    json_out: JsonOpt = False,
) -> None:
    """Prove no original value of a masked column appears in the masked snapshot; exit 7 on any hit."""
    from seeder.mask import leakcheck as run_leakcheck

    report = run_leakcheck(original, masked)
    if json_out:
        emit_json(report.to_dict())
    else:
        print(text_of(report))
    fail_if(not report.ok, 7)


@app.command()
def restore(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot to restore.")],
    env: Annotated[str, typer.Option("--env", help="Target environment URL.")],
    auth: AuthOpt = None, profile: ProfileOpt = None,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables restored whole.")] = None,
    ids: Annotated[str | None, typer.Option(help="TABLE:ID,... single rows (with their parents).")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="TABLE=ODATA rows to restore.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Restore the chain's state at this time (ISO 8601).")] = None,
    with_children: Annotated[bool, typer.Option(help="Also restore rows that point at the chosen rows.")] = False,
    mode: Annotated[str, typer.Option(help="upsert, create-only, update-only or mirror.")] = "upsert",
    dry_run: Annotated[bool, typer.Option(help="Show what would change; write nothing.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its journal.")] = False,
    retry_failed: Annotated[bool, typer.Option(help="Send again only the rows that failed.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write the JSON report here.")] = None,
    journal: Annotated[Path | None, typer.Option(help="Journal file (default under .seeder/).")] = None,
    default_owner: Annotated[str | None, typer.Option(help="systemuser id for owners not found in the target.")]
    = None,
    allow_production: Annotated[bool, typer.Option(help="Allow writing into a production environment.")] = False,
    batch_size: Annotated[int, typer.Option(help="Rows per UpsertMultiple request.")] = 100,
    bypass_business_logic: BypassLogicOpt = False,
    suppress_callbacks: SuppressCallbacksOpt = False,
    suppress_duplicate_detection: SuppressDupOpt = False,
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Restore a snapshot (or tables, rows, a point in time) into an environment, resumably."""
    from seeder.errors import UsageError
    from seeder.restore import RestoreOptions
    from seeder.restore import restore as run_restore

    id_map: dict[str, list[str]] = {}
    for item in (ids or "").split(","):
        if item.strip():
            table, sep, rid = item.strip().partition(":")
            if not sep or not rid:
                raise UsageError(f"--ids item {item!r} must look like TABLE:ID")
            id_map.setdefault(table, []).append(rid)
    options = RestoreOptions(
        tables=csv_list(tables), ids=id_map, filters=pairs(filter_, "--filter"), as_of=parse_time(as_of),
        with_children=with_children, mode=mode, dry_run=dry_run, resume=resume, retry_failed=retry_failed,
        allow_production=allow_production, default_owner=default_owner, journal=journal,
        key=snapshot_key(False, key_file), batch_size=batch_size,
    )
    bypass_flags = bypass(bypass_business_logic, suppress_callbacks, suppress_duplicate_detection)
    tick = progress_callback()

    def say(event: str, text: str) -> None:
        if event == "target":  # always say who is about to be written to
            err.print(text, markup=False)
        elif tick is not None:
            tick(event, text)

    import orjson

    from seeder.errors import SeederError

    def write_report(data: dict[str, object]) -> None:
        if report is not None:
            report.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))

    try:
        with connect(env, auth, profile, bypass=bypass_flags) as environment:
            result = run_restore(environment, snapshot, options, progress=say)
    except SeederError as exc:  # a run that stopped half way still leaves its report behind
        partial = exc.partial_report
        if partial is not None:
            write_report({**partial.to_dict(), "error": exc.to_dict()})
        raise
    write_report(result.to_dict())
    if json_out:
        emit_json(result.to_dict())
    else:
        print(text_of(result))
    if dry_run:
        fail_if(not result.safe, 8)
    fail_if(result.failed > 0 or not result.verified, 8)
