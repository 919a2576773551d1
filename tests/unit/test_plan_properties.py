"""Properties of build_plan over random schemas with cycles (hypothesis).

* PlanError exactly when the required lookups form a cycle (a required self-reference included).
* Every kept lookup points at a table upserted earlier, or at its own table and is self-ordered.
* Every deferred lookup is nullable, and every lookup edge is either kept or deferred (none lost).
* Deferrals are minimal: putting any single one back closes a cycle; small groups are optimal.
* Same schema and selection in any order → the same plan.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_schemas import random_schema

from seeder.errors import PlanError
from seeder.model import Schema
from seeder.plan import Plan, build_plan, cycles
from seeder.plan.graph import table_graph

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def has_required_cycle(schema: Schema) -> bool:
    g = nx.DiGraph()
    for t in schema.tables:
        for lk in t.lookups:
            if lk.required:
                g.add_edges_from((t.name, x) for x in lk.targets)
    return not nx.is_directed_acyclic_graph(g)


def edges(schema: Schema) -> set[tuple[str, str, str, bool]]:
    return {(t.name, lk.column, x, lk.required) for t in schema.tables for lk in t.lookups for x in lk.targets}


def check_plan(schema: Schema, plan: Plan) -> None:
    position = {t: i for i, t in enumerate(plan.order)}
    assert sorted(plan.order) == sorted(schema.table_names)
    kept: set[tuple[str, str, str]] = set()
    for step in plan.steps_for("upsert"):
        for lk in step.lookups:
            for target in lk.targets:
                kept.add((step.table, lk.column, target))
                if target == step.table:
                    assert lk.column in step.self_ordered
                    assert not lk.required
                else:
                    assert position[target] < position[step.table], (step.table, lk.column, target)
    deferred = {(d.table, d.column, x) for d in plan.deferred for x in d.targets}
    required = {(t, c) for t, c, _, r in edges(schema) if r}
    assert all((d.table, d.column) not in required for d in plan.deferred)
    assert not kept & deferred
    assert kept | deferred == {(t, c, x) for t, c, x, _ in edges(schema)}
    # minimal: putting back any single deferred edge closes a cycle
    base = nx.DiGraph()
    base.add_nodes_from(plan.order)
    base.add_edges_from((x, t) for t, _c, x in kept if t != x)
    for t, _c, x in deferred:
        assert nx.has_path(base, t, x), f"{t}.{_c} → {x} was deferred needlessly"
    # link steps carry exactly the deferrals
    linked = {(s.table, lk.column, x) for s in plan.steps_for("link") for lk in s.lookups for x in lk.targets}
    assert linked == deferred


def shuffled(schema: Schema, rng: random.Random) -> Schema:
    tables = []
    for t in schema.tables:
        lookups = [replace(lk, to=tuple(rng.sample(lk.to, len(lk.to)))) for lk in t.lookups]
        rng.shuffle(lookups)
        tables.append(replace(t, lookups=tuple(lookups)))
    rng.shuffle(tables)
    rels = list(schema.many_to_many)
    rng.shuffle(rels)
    return Schema(tables=tuple(tables), many_to_many=tuple(rels))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 16), required_share=st.sampled_from([0.0, 0.1, 0.3]))
def test_random_schema_plan_properties(seed: int, n: int, required_share: float) -> None:
    rng = random.Random(seed)
    schema = random_schema(rng, n, required_share=required_share)
    if has_required_cycle(schema):
        with pytest.raises(PlanError) as info:
            build_plan(schema)
        assert info.value.details["cycles"]
        return
    plan = build_plan(schema)
    check_plan(schema, plan)
    again = build_plan(shuffled(schema, rng), list(reversed(schema.table_names)))
    assert again.to_dict() == plan.to_dict()


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 30))
def test_greedy_path_is_valid_and_minimal(seed: int, n: int) -> None:
    schema = random_schema(random.Random(seed), n, lookups_per_table=2.5, acyclic_required=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cycles, "EXACT_LIMIT", 0)
        plan = build_plan(schema)
        again = build_plan(shuffled(schema, random.Random(seed)))
    check_plan(schema, plan)
    assert again.to_dict() == plan.to_dict()


def best_deferrals(schema: Schema) -> tuple[int, list[tuple[str, str]]]:
    """Brute force over all orders: the fewest deferred lookups, then the smallest sorted list."""
    graph = table_graph(schema)
    best = None
    for order in itertools.permutations(graph.tables):
        pos = {t: i for i, t in enumerate(order)}
        keys = []
        for lk in graph.lookups:
            later = [x for x in lk.targets if x != lk.table and pos[x] > pos[lk.table]]
            if later and lk.required:
                break
            if later:
                keys.append((lk.table, lk.column))
        else:
            value = (len(keys), sorted(keys))
            best = value if best is None else min(best, value)
    assert best is not None
    return best


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6))
def test_small_groups_defer_the_fewest_lookups_ties_by_name(seed: int, n: int) -> None:
    schema = random_schema(random.Random(seed), n, lookups_per_table=2.0, acyclic_required=True)
    plan = build_plan(schema)
    assert (len(plan.deferred), [(d.table, d.column) for d in plan.deferred]) == best_deferrals(schema)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_plan_error_only_for_required_cycles(seed: int) -> None:
    schema = random_schema(random.Random(seed), 8, required_share=0.5, lookups_per_table=1.5)
    try:
        build_plan(schema)
    except PlanError:
        assert has_required_cycle(schema)
    else:
        assert not has_required_cycle(schema)
