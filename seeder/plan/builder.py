"""build_plan: from a Schema and a table selection to the ordered, referentially consistent Plan.

1. The table graph (:mod:`seeder.plan.graph`); lookups leaving the selection follow ``outside``.
2. A cycle of required lookups (a required self-reference included) is a :class:`PlanError`.
3. Nullable self-references are satisfied by writing rows parent-first (``Step.self_ordered``).
4. In every strongly connected group of tables, the fewest nullable lookups are deferred
   (:mod:`seeder.plan.cycles`) to ``link`` steps; lookups that can only be set on an existing row
   (not valid for create) always are. Read-only lookups (``createdby``) are not part of the plan.
5. Upserts follow a topological order of what is left, smallest table name first among the ready
   ones; then ``link`` steps, ``associate`` steps for N:N relationships with both sides selected, and
   ``set-state`` steps for tables with a ``statecode``.

The same schema and selection always give the same plan, whatever order they were listed in.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from seeder.errors import PlanError, UsageError
from seeder.model import Schema
from seeder.plan.cycles import DeferredEdge, choose_deferrals
from seeder.plan.graph import TableGraph, raise_for_required_cycles, strongly_connected, table_graph
from seeder.plan.steps import Deferral, OutsideLookup, OutsidePolicy, Plan, PlanLookup, Step

__all__ = ["OUTSIDE_POLICIES", "build_plan"]

OUTSIDE_POLICIES: tuple[OutsidePolicy, ...] = ("match", "null", "error")


def build_plan(schema: Schema, tables: Sequence[str] | None = None, *, outside: str = "match") -> Plan:
    """The restore plan for ``tables`` of ``schema`` (all tables when ``None``).

    ``outside`` says what happens to lookups pointing at tables outside the selection: ``match`` (the
    row must exist in the target; the value is kept and reported), ``null`` (written empty and
    reported) or ``error`` (a :class:`PlanError` naming them). Raises :class:`PlanError` for a cycle of
    required lookups, :class:`UsageError` for unknown tables or policy.
    """
    if outside not in OUTSIDE_POLICIES:
        raise UsageError(
            f"unknown outside-selection policy {outside!r}",
            hint="use one of: " + ", ".join(OUTSIDE_POLICIES),
        )
    policy: OutsidePolicy = "match" if outside == "match" else "null" if outside == "null" else "error"
    graph = table_graph(schema, tables)
    outside_lookups = _outside(graph, policy)
    raise_for_required_cycles(graph)

    cycles = strongly_connected(graph.tables, ((e.table, e.target) for e in graph.edges()))
    deferred_edges: set[DeferredEdge] = {
        (lk.table, lk.column, t) for lk in graph.lookups if lk.update_only for t in lk.targets
    }
    group_of: dict[str, tuple[str, ...]] = {}
    for group in cycles:
        members = set(group)
        for t in group:
            group_of[t] = group
        deferred_edges |= choose_deferrals(group, [lk for lk in graph.lookups if lk.table in members])

    order = _topological_order(graph, deferred_edges)
    deferrals = _deferrals(deferred_edges, group_of)
    steps = _upsert_steps(graph, order, deferrals)
    steps += _link_steps(graph, order, deferrals)
    steps += _associate_steps(schema, set(graph.tables))
    steps += tuple(
        Step(table=t, action="set-state") for t in order if schema.table(t).has_state
    )
    return Plan(
        steps=steps,
        deferred=tuple(deferrals[k] for k in sorted(deferrals)),
        cycles=tuple(cycles),
        outside=outside_lookups,
        policy=policy,
    )


def _outside(graph: TableGraph, policy: OutsidePolicy) -> tuple[OutsideLookup, ...]:
    found = [lk for lk in graph.lookups if lk.outside]
    if policy == "error" and found:
        names = [f"{lk.table}.{lk.column} → {', '.join(lk.outside)}" for lk in found]
        raise PlanError(
            f"{len(found)} lookup(s) point outside the selection: " + "; ".join(names),
            hint="add the target tables to the selection, or use --outside match / --outside null",
            lookups=names,
        )
    out: list[OutsideLookup] = []
    stuck: list[str] = []
    for lk in found:
        note = ""
        if policy == "null" and lk.required:
            if not lk.is_owner:
                stuck.append(f"{lk.table}.{lk.column} → {', '.join(lk.outside)}")
                continue
            note = "required owner: the service assigns the calling user"
        out.append(OutsideLookup(lk.table, lk.column, lk.outside, policy, lk.required, note))
    if stuck:
        raise PlanError(
            "required lookups cannot be left empty: " + "; ".join(stuck),
            hint="add the target tables to the selection, or use --outside match",
            lookups=stuck,
        )
    return tuple(out)


def _topological_order(graph: TableGraph, deferred: set[DeferredEdge]) -> list[str]:
    """Targets before the tables referencing them; among ready tables, the smallest name first."""
    waiting = dict.fromkeys(graph.tables, 0)
    dependents: dict[str, list[str]] = {t: [] for t in graph.tables}
    for e in graph.edges():
        if e.table == e.target or (e.table, e.column, e.target) in deferred:
            continue
        waiting[e.table] += 1
        dependents[e.target].append(e.table)
    ready = [t for t, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        table = heapq.heappop(ready)
        order.append(table)
        for dep in dependents[table]:
            waiting[dep] -= 1
            if waiting[dep] == 0:
                heapq.heappush(ready, dep)
    if len(order) != len(graph.tables):  # cannot happen once deferrals broke every cycle
        left = sorted(t for t in graph.tables if t not in set(order))
        raise PlanError(f"no order found for: {', '.join(left)}", tables=left)
    return order


def _deferrals(
    edges: set[DeferredEdge], group_of: dict[str, tuple[str, ...]]
) -> dict[tuple[str, str], Deferral]:
    targets: dict[tuple[str, str], list[str]] = {}
    for table, column, target in edges:
        targets.setdefault((table, column), []).append(target)
    return {
        (table, column): Deferral(table, column, tuple(sorted(ts)), group_of.get(table, ()))
        for (table, column), ts in targets.items()
    }


def _upsert_steps(
    graph: TableGraph, order: list[str], deferrals: dict[tuple[str, str], Deferral]
) -> tuple[Step, ...]:
    steps: list[Step] = []
    for table in order:
        lookups: list[PlanLookup] = []
        self_ordered: list[str] = []
        for lk in graph.lookups_of(table):
            d = deferrals.get((table, lk.column))
            kept = tuple(t for t in lk.targets if d is None or t not in d.targets)
            if table in kept:
                self_ordered.append(lk.column)
            if kept:
                lookups.append(PlanLookup(lk.column, kept, lk.required))
        steps.append(Step(table, "upsert", tuple(lookups), None, tuple(self_ordered)))
    return tuple(steps)


def _link_steps(
    graph: TableGraph, order: list[str], deferrals: dict[tuple[str, str], Deferral]
) -> tuple[Step, ...]:
    by_table: dict[str, list[Deferral]] = {}
    for d in deferrals.values():
        by_table.setdefault(d.table, []).append(d)
    return tuple(
        Step(
            table,
            "link",
            tuple(PlanLookup(d.column, d.targets, False) for d in sorted(by_table[table], key=lambda d: d.column)),
        )
        for table in order
        if table in by_table
    )


def _associate_steps(schema: Schema, selected: set[str]) -> tuple[Step, ...]:
    steps: list[Step] = []
    for rel in schema.many_to_many:  # sorted by name
        if rel.table1 in selected and rel.table2 in selected:
            lookups = (
                PlanLookup(rel.column1, (rel.table1,), True),
                PlanLookup(rel.column2, (rel.table2,), True),
            )
            steps.append(Step(rel.intersect_table, "associate", lookups, rel.name))
    return tuple(steps)
