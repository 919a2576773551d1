"""Commands over snapshot files: verify, list and prune, offline query, diff, CMT packages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

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
    progress_callback,
    report_warnings,
    snapshot_key,
)

snapshots_app = typer.Typer(help="List and prune the snapshots kept in a folder.", no_args_is_help=True)
app.add_typer(snapshots_app, name="snapshots")
cmt_app = typer.Typer(help="Configuration Migration Tool data packages: import and export.", no_args_is_help=True)
app.add_typer(cmt_app, name="cmt")


@app.command()
def verify(path: Annotated[Path, typer.Argument(help="Snapshot directory.")], json_out: JsonOpt = False) -> None:
    """Check every hash and count of a snapshot (no key needed); exit 6 naming what is damaged."""
    from seeder.snapshot import verify as run_verify

    report = run_verify(path)
    if json_out:
        emit_json(report.to_dict())
    else:
        print("ok: every file, hash and count checks out" if report.ok else "damaged:")
        for problem in report.problems:
            print(f"  {problem}")
    fail_if(not report.ok, 6)


@snapshots_app.command("list")
def snapshots_list(root: Annotated[Path, typer.Argument(help="Folder holding snapshots.")],
                   json_out: JsonOpt = False) -> None:
    """List the snapshots under ROOT, oldest first, with their kind, parent and size."""
    from seeder.snapshot import list_snapshots

    infos = list_snapshots(root)
    if json_out:
        emit_json({"snapshots": [i.to_dict() for i in infos]})
        return
    for info in infos:
        data = info.to_dict()
        kind = "incremental" if data.get("incremental") else "full"
        print(f"{data.get('created')}  {kind:<11}  {data.get('rows', 0):>9} rows  {data.get('path')}")


@snapshots_app.command("prune")
def snapshots_prune(
    root: Annotated[Path, typer.Argument(help="Folder holding snapshots.")],
    keep_daily: Annotated[int, typer.Option(help="Keep the newest snapshot of this many days.")] = 7,
    keep_weekly: Annotated[int, typer.Option(help="... of this many weeks.")] = 4,
    keep_monthly: Annotated[int, typer.Option(help="... of this many months.")] = 12,
    keep_yearly: Annotated[int, typer.Option(help="... of this many years.")] = 7,
    dry_run: Annotated[bool, typer.Option(help="Say what would be deleted; delete nothing.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete snapshots outside the retention policy; never one that a kept incremental depends on."""
    from seeder.snapshot import Retention, prune

    policy = Retention(keep_daily=keep_daily, keep_weekly=keep_weekly, keep_monthly=keep_monthly,
                       keep_yearly=keep_yearly)
    report = prune(root, policy, dry_run=dry_run)
    if json_out:
        emit_json(report.to_dict())
        return
    data = report.to_dict()
    verb = "would delete" if dry_run else "deleted"
    for item in data.get("deleted", []):
        print(f"{verb}: {item}")
    print(f"kept {len(data.get('kept', []))}, {verb} {len(data.get('deleted', []))}")


@app.command()
def query(
    path: Annotated[Path, typer.Argument(help="Snapshot directory.")],
    table: Annotated[str, typer.Argument(help="Table logical name.")],
    filter_: Annotated[str | None, typer.Option("--filter", help="OData $filter, e.g. \"startswith(name,'A')\".")]
    = None,
    limit: Annotated[int | None, typer.Option(help="Stop after this many rows.")] = None,
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Search a snapshot offline, without touching the source environment."""
    import orjson

    from seeder.snapshot import Snapshot
    from seeder.snapshot import query as run_query

    snap = Snapshot.open(path, key=snapshot_key(False, key_file))
    rows = run_query(snap, table, filter_)
    found = 0
    items: list[Any] = []
    for record in rows:
        found += 1
        if json_out:
            items.append(record)
        else:
            print(orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode())
        if limit is not None and found >= limit:
            break
    if json_out:
        emit_json({"table": table, "count": found, "records": items})


@app.command()
def diff(
    a: Annotated[str, typer.Argument(help="Snapshot directory or environment URL.")],
    b: Annotated[str, typer.Argument(help="Snapshot directory or environment URL.")],
    auth: AuthOpt = None, profile: ProfileOpt = None,
    tables: Annotated[str | None, typer.Option(help="Comma-separated tables.")] = None,
    records: Annotated[bool, typer.Option(help="List the ids of added, changed and deleted rows.")] = False,
    key_file: KeyFileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare snapshot↔snapshot or snapshot↔environment; exit 0 only when equal."""
    from contextlib import ExitStack

    from seeder.diff import diff as run_diff
    from seeder.snapshot import Snapshot

    with ExitStack() as stack:
        sides: list[Any] = []
        for arg in (a, b):
            if arg.startswith(("http://", "https://")):
                sides.append(stack.enter_context(connect(arg, auth, profile)))
            else:
                sides.append(Snapshot.open(Path(arg), key=snapshot_key(False, key_file)))
        report = run_diff(sides[0], sides[1], tables=csv_list(tables), records=records)
    if json_out:
        emit_json(report.to_dict())
    else:
        print(report.to_text())
    fail_if(not report.equal, 1)


@cmt_app.command("import")
def cmt_import(
    package: Annotated[Path, typer.Argument(help="CMT data package (.zip) or its folder.")],
    out: Annotated[Path, typer.Option("--out", help="Directory of the new snapshot.")],
    json_out: JsonOpt = False,
) -> None:
    """Turn a Configuration Migration Tool data package into a snapshot; exit 1 if any value was not carried."""
    from seeder.interop import cmt_import as run_import

    report = run_import(package, out, progress=progress_callback())
    _render_cmt(report, json_out)


@cmt_app.command("export")
def cmt_export(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot directory.")],
    out: Annotated[Path, typer.Option("--out", help="Package file to write (.zip).")],
    json_out: JsonOpt = False,
) -> None:
    """Write a snapshot as a data package that CMT and Package Deployer accept."""
    from seeder.interop import cmt_export as run_export

    report = run_export(snapshot, out)
    _render_cmt(report, json_out)


def _render_cmt(report: Any, json_out: bool) -> None:
    data = report.to_dict()
    if json_out:
        emit_json(data)
        fail_if(not report.ok, 1)
        return
    print(f"{report.records} records in {len(report.tables)} tables, {report.links} N:N links "
          f"({report.source} → {report.target})")
    report_warnings([f"{w['table']}.{w.get('column') or ''} {w.get('record_id') or ''}: {w['reason']}"
                     for w in data.get("warnings", [])])
    dropped = data.get("dropped", [])
    if dropped:
        print(f"{len(dropped)} value(s) could not be carried (see --json for each)")
    fail_if(not report.ok, 1)


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time (``2026-11-01T00:00:00Z`` or a date)."""
    from seeder.errors import UsageError

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--as-of {value!r} is not an ISO 8601 time", hint="e.g. 2026-11-01T06:00:00Z") from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed
