"""The restorer: follow the plan and write a snapshot into an environment, resumably.

Order of work: refuse a production target unless allowed; say who the target is; match reference data
(:mod:`.refdata`); choose rows (:mod:`.selection`); build the plan; then run its steps — ``upsert``
rows with their source GUIDs (self-referencing tables parent-first, in generations), ``link`` the
deferred lookups, ``associate`` N:N pairs, ``set-state`` last — in journalled chunks (:mod:`.journal`);
in ``mirror`` mode delete target rows the snapshot does not have; finally compare each table of the
target with the snapshot. Failed rows are report entries with their Dataverse error, never dropped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from seeder.dataverse import Environment
from seeder.errors import SafetyError, SeederError, UsageError
from seeder.model import Record, Schema
from seeder.plan import build_plan
from seeder.records import clean_record
from seeder.restore.checks import dry_run as _dry_run
from seeder.restore.checks import verify as _verify
from seeder.restore.executor import StepRunner
from seeder.restore.journal import Journal
from seeder.restore.refdata import REFERENCE_TABLES, match_reference_data
from seeder.restore.report import RestoreReport
from seeder.restore.selection import select_rows
from seeder.snapshot import Snapshot, chain, list_snapshots

__all__ = ["MODES", "RestoreOptions", "restore"]

MODES = ("upsert", "create-only", "update-only", "mirror")
Progress = Callable[[str, str], None]
"""``progress(event, text)``: events are ``target``, ``step`` and ``done``."""


@dataclass(frozen=True)
class RestoreOptions:
    tables: tuple[str, ...] | None = None
    ids: dict[str, list[str]] = field(default_factory=dict)
    filters: dict[str, str] = field(default_factory=dict)
    as_of: datetime | None = None
    with_children: bool = False
    mode: str = "upsert"
    dry_run: bool = False
    resume: bool = False
    retry_failed: bool = False
    allow_production: bool = False
    default_owner: str | None = None
    journal: Path | None = None
    key: bytes | None = None
    chunk_rows: int = 2000
    batch_size: int = 100
    verify: bool = True
    skip_tables: tuple[str, ...] = ()
    """Snapshot tables never written (for example components that arrive by solution import)."""
    state_exempt: tuple[str, ...] = ()
    """Tables whose rows keep the state they are written with (flows stay off until re-wiring)."""


def resolve_as_of(path: Path, as_of: datetime | None, key: bytes | None = None) -> Path:
    """The snapshot of ``path``'s own chain (``path`` and the snapshots it builds on) that was current at
    ``as_of``. Snapshots of other chains, other organisations or another masking state are never chosen."""
    if as_of is None:
        return path
    members = {p.resolve() for p in chain(path, key)}
    candidates = [s for s in list_snapshots(path.parent) if s.path.resolve() in members and s.created <= as_of]
    if not candidates:
        raise UsageError(f"no snapshot in the chain of {path} was taken at or before {as_of.isoformat()}",
                         hint="--as-of picks among the snapshots this one builds on; give the newest of them")
    return max(candidates, key=lambda s: s.created).path


def restore(env: Environment, snapshot_path: Path, options: RestoreOptions = RestoreOptions(),
            progress: Progress | None = None) -> RestoreReport:
    """Write the snapshot at ``snapshot_path`` into ``env`` as ``options`` say; return what happened."""
    if options.mode not in MODES:
        raise UsageError(f"unknown mode {options.mode!r}", hint=f"use one of: {', '.join(MODES)}")
    say = progress or (lambda _e, _t: None)
    started = time.monotonic()
    path = resolve_as_of(snapshot_path, options.as_of, options.key)
    snap = Snapshot.open(path, key=options.key)
    schema = snap.schema
    org = env.org_info()
    target = {"name": org.name, "organization_id": org.organization_id, "url": org.url,
              "environment_type": org.environment_type}
    if org.needs_override and not options.allow_production and not options.dry_run:
        kind = org.environment_type or "unknown"
        raise SafetyError(f"{org.name} ({org.organization_id}) is a {kind} environment, not a sandbox; "
                          "refusing to write", hint="pass --allow-production if you really mean to write into it")
    say("target", f"target: {org.name} ({org.organization_id}) at {org.url} [{org.environment_type}]")
    report = RestoreReport(snapshot=str(path), target=target, mode=options.mode, dry_run=options.dry_run,
                           resumed=options.resume)

    def source(table: str) -> Iterator[Record]:
        return snap.resolved_records(table) if table in snap.tables else iter(())

    who = env.whoami()
    owner_id = (options.default_owner or str(who.get("UserId", ""))).lower()
    refs = match_reference_data(schema, source, lambda t: (clean_record(r) for r in env.iter_records(t)),
                                target_org_id=org.organization_id, default_owner=("systemuser", owner_id))
    report.references = refs.to_dict()
    selection = select_rows(schema, source, list(snap.tables), tables=options.tables, ids=options.ids,
                            filters=options.filters, with_children=options.with_children,
                            exclude=REFERENCE_TABLES | set(options.skip_tables)
                            | {r.intersect_table for r in schema.many_to_many})
    report.selection = selection.to_dict()
    plan = build_plan(schema, selection.tables, outside="match")
    report.deferred = [d.to_dict() for d in plan.deferred]
    for rel in schema.many_to_many:
        sides = {rel.table1, rel.table2}
        if rel.intersect_table in snap.tables and sides & REFERENCE_TABLES and sides <= set(snap.tables):
            report.notes.append(f"N:N {rel.name} links {rel.table1} and {rel.table2}: pairs with users, teams, "
                                   "business units or currencies are matched data and are not restored")
    if options.dry_run:
        _dry_run(env, schema, source, selection, options, report, refs.remap)
        report.seconds = time.monotonic() - started
        return report
    journal_path = options.journal or Path(".seeder") / f"restore-{org.organization_id}-{path.name}.journal.sqlite"
    identity = {"snapshot": snap.manifest_sha256, "target": org.organization_id, "options": _options_id(options)}
    journal = Journal(journal_path, identity, fresh=not (options.resume or options.retry_failed))
    report.journal = str(journal_path)
    run = StepRunner(env, schema, source, selection, plan, refs, journal, options, report, say,
                     _entity_sets(env, schema))
    try:
        if options.retry_failed:
            run.retry_failed()
        else:
            run.execute()
        report.failures = list(journal.failures())
        for f in report.failures:
            report.table(f["table"]).failed += 1
        if options.verify:
            _verify(env, schema, source, selection, report, run.remap)
    except SeederError as exc:  # the target is half written: hand over what is known with the error
        report.failures = list(journal.failures())
        report.problems.append(f"stopped early: {exc.message} (resume with --resume)")
        report.seconds = time.monotonic() - started
        exc.partial_report = report
        raise
    finally:
        journal.close()
    report.seconds = time.monotonic() - started
    say("done", f"{report.written} rows written, {report.failed} failed")
    return report


def _entity_sets(env: Environment, schema: Schema) -> dict[str, str]:
    """Entity set names of every table a lookup may point at: the snapshot's own tables, and the target's
    for tables the snapshot did not carry (a snapshot of accounts alone still binds owners and contacts)."""
    sets = {t.name: t.entity_set for t in schema.tables}
    missing = sorted({x.table for t in schema.tables for lk in t.lookups for x in lk.to} - set(sets))
    if missing:
        try:
            target = env.schema(missing)
        except SeederError:
            return sets
        sets.update({t.name: t.entity_set for t in target.tables})
    return sets


def _options_id(options: RestoreOptions) -> str:
    data = {"tables": options.tables, "ids": options.ids, "filters": options.filters, "mode": options.mode,
            "children": options.with_children, "as_of": options.as_of.isoformat() if options.as_of else None,
            "chunk": options.chunk_rows}
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


