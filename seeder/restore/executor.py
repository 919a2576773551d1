"""Carrying out a restore plan: each step's rows in journalled chunks, numbered deterministically.

``upsert`` writes rows with their source GUIDs (self-referencing tables parent-first, one generation per
call, rows caught in a loop in the data linked afterwards), ``link`` sets deferred lookups, ``associate``
creates N:N pairs, ``set-state`` runs last; ``mirror`` deletes target rows the snapshot lacks. A chunk is
marked done in the journal only once every row in it was answered; failures are kept with their error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from seeder.dataverse import Environment
from seeder.errors import DataverseError
from seeder.model import Record, Schema, Table
from seeder.plan import Plan, Step, parent_first
from seeder.records import lookup_of, write_body
from seeder.restore.journal import Journal
from seeder.restore.refdata import ReferenceMap
from seeder.restore.report import RestoreReport
from seeder.restore.selection import Selection

__all__ = ["StepRunner"]

DUPLICATE_CODES = frozenset({"0x80040237"})
"""Error codes Dataverse answers when an N:N pair already exists (duplicate key)."""
STATE_ROUNDS = 3
"""Extra passes over rows whose state change failed: one row's state may need another's first (a parent
flow can only be turned on after the child flows it calls)."""
Progress = Callable[[str, str], None]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class StepRunner:
    """One execution of a plan; each step's chunks are numbered deterministically for the journal."""

    def __init__(self, env: Environment, schema: Schema, source: Callable[[str], Iterator[Record]],
                 selection: Selection, plan: Plan, refs: ReferenceMap, journal: Journal,
                 options: Any, report: RestoreReport, say: Progress, entity_sets: dict[str, str]) -> None:
        self.env, self.schema, self.source, self.selection = env, schema, source, selection
        self.plan, self.refs, self.journal, self.options, self.report, self.say = (
            plan, refs, journal, options, report, say)
        self.entity_sets = entity_sets
        self.relink: dict[str, set[str]] = {}
        self.mode = "upsert" if options.mode == "mirror" else options.mode
        self.existing: dict[str, set[str]] = journal.skipped()
        """create-only: ids of rows the target had already (left alone by the later link and state steps);
        kept in the journal, so a resumed run still knows them."""
        self.resumed = bool(getattr(options, "resume", False))

    # -- helpers -----------------------------------------------------------------------------------
    def rows(self, table: str) -> Iterator[Record]:
        return self.selection.rows(self.source, self.schema, table)

    def remap(self, table: Table, record: Record) -> Record:
        return self.refs.remap(table, record)

    def send(self, step_no: int, step: Step, action: str, mode: str,
             bodies: Iterable[tuple[str, dict[str, Any]]], count_as: str, first_chunk: int = 0) -> int:
        """Write ``(id, body)`` pairs in journalled chunks numbered from ``first_chunk``; record each failure
        with its error. Returns the number of the next chunk. Rows of one call are written in parallel, so
        rows that must land before others go in an earlier call."""
        table = step.table
        result = self.report.table(table)
        chunk_no = first_chunk
        for chunk in _chunks(bodies, self.options.chunk_rows):
            if self.journal.is_done(step_no, chunk_no):
                ok, _failed = self.journal.done_counts_chunk(step_no, chunk_no)
                setattr(result, count_as, getattr(result, count_as) + ok)
            else:
                ok, failed, skipped = self._write(table, chunk, mode, action)
                self.journal.mark_done(step_no, chunk_no, ok, failed, [(table, rid) for rid in skipped])
                setattr(result, count_as, getattr(result, count_as) + ok)
            chunk_no += 1
        return chunk_no

    def _write(self, table: str, chunk: list[tuple[str, dict[str, Any]]], mode: str,
               action: str) -> tuple[int, list[dict[str, Any]], list[str]]:
        ok = 0
        failed: list[dict[str, Any]] = []
        skipped: list[str] = []
        for res in self.env.write_many(table, chunk, mode=mode, batch_size=self.options.batch_size):
            if res.ok:
                ok += 1
            elif self._ours(table, res.id, res.status, action):
                ok += 1  # written by this run before it was interrupted
            elif self._left_alone(table, res.id, res.status, action):
                self.report.table(table).skipped += 1
                if res.status == 412:
                    skipped.append(res.id.lower())
            else:
                err = res.error or {}
                failed.append({"table": table, "id": res.id, "action": action, "status": res.status,
                               "code": err.get("code"), "message": err.get("message")})
        return ok, failed, skipped

    def _ours(self, table: str, row_id: str, status: int, action: str) -> bool:
        """On a resumed create-only run, a row that already exists may be one this run created just before it
        was stopped: the row's ``createdon`` at or after the run's start says so."""
        if not (self.resumed and self.options.mode == "create-only" and action == "upsert" and status == 412):
            return False
        started = self.journal.started()
        try:
            row = self.env.get(table, row_id, select=["createdon"])
        except DataverseError:
            return False
        created = str((row or {}).get("createdon") or "")
        return bool(started and created and created[:19] >= started[:19])

    def _left_alone(self, table: str, row_id: str, status: int, action: str) -> bool:
        """A row the mode says to leave alone: create-only meeting an existing row (412), update-only meeting
        a missing one (404). Those are the mode working, not failures."""
        if self.options.mode == "create-only" and action == "upsert" and status == 412:
            self.existing.setdefault(table, set()).add(row_id.lower())
            return True
        return self.options.mode == "update-only" and status == 404 and action in ("upsert", "link", "set-state")

    def _untouched(self, table: str, row_id: str) -> bool:
        return row_id in self.existing.get(table, ())

    # -- steps -------------------------------------------------------------------------------------
    def execute(self) -> None:
        for number, step in enumerate(self.plan.steps):
            self.say("step", f"{number + 1}/{len(self.plan.steps)} {step.action} {step.table}")
            getattr(self, "_" + step.action.replace("-", "_"))(number, step)
        for _round in range(STATE_ROUNDS):
            state_steps = [n for n, st in enumerate(self.plan.steps) if st.action == "set-state"]
            before = sum(1 for n in state_steps for _f in self.journal.failures(n))
            if not before:
                break
            self.retry_failed(actions=("set-state",))
            if sum(1 for n in state_steps for _f in self.journal.failures(n)) >= before:
                break
        if self.options.mode == "mirror":
            self._mirror(len(self.plan.steps))
        self.journal.mark_completed()

    def _bodies(self, table: Table, records: Iterable[Record], skip: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for record in records:
            body, problems = write_body(table, self.remap(table, record), self.entity_sets, skip_lookups=skip)
            for p in problems:
                if p not in self.report.problems:
                    self.report.problems.append(p)
            yield str(record[table.primary_id]).lower(), body

    def _upsert(self, number: int, step: Step) -> None:
        table = self.schema.table(step.table)
        deferred = {d.column for d in self.plan.deferred if d.table == step.table}
        if not step.self_ordered:
            self.send(number, step, "upsert", self.mode, self._bodies(table, self.rows(step.table), deferred),
                      "written")
            return
        # parent-first in generations: memory holds ids and depths, never the rows
        keys = [f"_{c}_value" for c in step.self_ordered]
        order = parent_first(({table.primary_id: r.get(table.primary_id), **{k: r.get(k) for k in keys}}
                              for r in self.rows(step.table)), table.primary_id, keys)
        depth: dict[str, int] = {}
        for row in order:
            rid = str(row[table.primary_id]).lower()
            parents = [str(row.get(k) or "").lower() for k in keys]
            depth[rid] = max((depth[p] + 1 for p in parents if p in depth), default=0)
        relink = {i.lower() for i in order.relink}
        self.relink[step.table] = relink
        skip_for_relink = deferred | set(step.self_ordered)

        def generation(level: int) -> Iterator[tuple[str, dict[str, Any]]]:
            for record in self.rows(step.table):
                rid = str(record[table.primary_id]).lower()
                if depth.get(rid) == level:
                    skip = skip_for_relink if rid in relink else deferred
                    yield from self._bodies(table, [record], skip)

        # one generation at a time: write_many sends a call's rows in parallel, so a child written in the
        # same call as its parent could arrive first and fail on a lookup to a row not there yet
        chunk_no = 0
        for level in range(max(depth.values(), default=-1) + 1):
            chunk_no = self.send(number, step, "upsert", self.mode, generation(level), "written", chunk_no)
        if relink:  # rows that closed a loop in the data were written without their parent: set it now
            columns = {c: {step.table} for c in step.self_ordered}
            rows = (r for r in self.rows(step.table) if str(r[table.primary_id]).lower() in relink)
            self.send(number, step, "link", "update-only", self._link_bodies(table, rows, columns), "linked",
                      chunk_no)

    def _link_bodies(self, table: Table, records: Iterable[Record],
                     columns: dict[str, set[str]]) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(id, body)`` binding ``columns`` (lookup → the targets to bind) of each record."""
        for record in records:
            record = self.remap(table, record)
            body: dict[str, Any] = {}
            for column, targets in columns.items():
                ref = lookup_of(record, column)
                lookup = table.lookup(column)
                if ref is None or lookup is None:
                    continue
                target_table = ref[0] or (lookup.to[0].table if len(lookup.to) == 1 else "")
                target = lookup.target(target_table) if target_table in targets else None
                if target and self.entity_sets.get(target.table):
                    body[f"{target.navigation_property}@odata.bind"] = f"/{self.entity_sets[target.table]}({ref[1]})"
            rid = str(record[table.primary_id]).lower()
            if body and not self._untouched(table.name, rid):
                yield rid, body

    def _link(self, number: int, step: Step) -> None:
        table = self.schema.table(step.table)
        columns = {lk.column: set(lk.targets) for lk in step.lookups}
        self.send(number, step, "link", "update-only", self._link_bodies(table, self.rows(step.table), columns),
                  "linked")

    def _associate(self, number: int, step: Step) -> None:
        rel = next(r for r in self.schema.many_to_many if r.name == step.relationship)
        chosen1, chosen2 = self.selection.ids.get(rel.table1), self.selection.ids.get(rel.table2)
        result = self.report.table(rel.intersect_table)
        pairs = []
        for record in self.source(rel.intersect_table):
            a, b = str(record.get(rel.column1, "")).lower(), str(record.get(rel.column2, "")).lower()
            if (chosen1 is None or a in chosen1) and (chosen2 is None or b in chosen2):
                pairs.append((a, b))
        for chunk_no, chunk in enumerate(_chunks(sorted(pairs), self.options.chunk_rows)):
            if self.journal.is_done(number, chunk_no):
                result.associated += self.journal.done_counts_chunk(number, chunk_no)[0]
                continue
            failed: list[dict[str, Any]] = []
            ok = 0
            for res in self.env.associate_many(rel.table1, rel.navigation1, rel.table2, chunk,
                                               batch_size=self.options.batch_size):
                err = res.error or {}
                if res.ok or err.get("code") in DUPLICATE_CODES:  # an existing pair is the goal reached
                    ok += 1
                else:
                    failed.append({"table": rel.intersect_table, "id": res.id, "action": "associate",
                                   "status": res.status, "code": err.get("code"), "message": err.get("message")})
            self.journal.mark_done(number, chunk_no, ok, failed)
            result.associated += ok

    def _set_state(self, number: int, step: Step) -> None:
        if step.table in self.options.state_exempt:
            return
        table = self.schema.table(step.table)

        def bodies() -> Iterator[tuple[str, dict[str, Any]]]:
            for record in self.rows(step.table):
                state = record.get("statecode")
                if state not in (None, 0) and not self._untouched(step.table, str(record[table.primary_id]).lower()):
                    body = {"statecode": state}
                    if record.get("statuscode") is not None:
                        body["statuscode"] = record["statuscode"]
                    yield str(record[table.primary_id]).lower(), body

        self.send(number, step, "set-state", "update-only", bodies(), "state_set")

    def _mirror(self, number: int) -> None:
        """Delete target rows the snapshot does not have, children before parents."""
        for offset, table_name in enumerate(reversed(self.plan.order)):
            if self.selection.ids.get(table_name) is not None:
                continue  # only whole tables are mirrored
            table = self.schema.table(table_name)
            keep = {str(r[table.primary_id]).lower() for r in self.rows(table_name)}
            extra = sorted(str(r[table.primary_id]).lower()
                           for r in self.env.iter_records(table_name, select=[table.primary_id])
                           if str(r[table.primary_id]).lower() not in keep)
            if not extra:
                continue
            step = Step(table_name, "upsert")
            step_no = number + offset
            result = self.report.table(table_name)
            # the rows still to delete are read from the target again on resume, so chunk numbers shift:
            # never skip a chunk as done (deleting is idempotent; an already deleted row answers 404)
            for chunk_no, chunk in enumerate(_chunks(extra, self.options.chunk_rows)):
                failed = []
                ok = 0
                for rid in chunk:
                    try:
                        self.env.delete(step.table, rid)
                        ok += 1
                    except DataverseError as exc:
                        if exc.status == 404:
                            ok += 1
                            continue
                        failed.append({"table": table_name, "id": rid, "action": "delete", "status": exc.status,
                                       "code": exc.code, "message": exc.message})
                self.journal.mark_done(step_no, chunk_no, ok, failed)
                result.deleted += ok

    def retry_failed(self, actions: tuple[str, ...] | None = None) -> None:
        """Send again only the rows the journal lists as failed, each with its original action (only the
        steps doing ``actions`` when given)."""
        if actions is None and not self.journal.completed():
            from seeder.errors import RestoreError

            raise RestoreError("the previous run did not finish, so more than its failed rows is missing",
                               hint="finish it with --resume first, then --retry-failed")
        for number, step in enumerate(self.plan.steps):
            if actions is not None and step.action not in actions:
                continue
            failures = list(self.journal.failures(number))
            if not failures:
                continue
            ids = {f["id"] for f in failures}
            self.say("step", f"retrying {len(ids)} failed row(s) of {step.action} {step.table}")
            saved = self.selection
            narrowed = Selection(tables=saved.tables, ids=dict(saved.ids))
            if step.action != "associate":
                narrowed.ids[step.table] = ids
            self.selection = narrowed
            retry_no = 10_000 + number
            self.journal.forget(retry_no)
            getattr(self, "_" + step.action.replace("-", "_"))(retry_no, step)
            fixed = ids - {f["id"] for f in self.journal.failures(retry_no)}
            self.journal.clear_failures(number, sorted(fixed))
            self.journal.move_failures(retry_no, number)
            self.selection = saved
