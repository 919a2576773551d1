"""How long build_plan takes for large random schemas with cycles.

Run: .venv/bin/python bench/plan_scale.py [TABLES ...]   (default 1000)

Each table gets 0-6 lookups to random tables (1-3 targets, some polymorphic, some self-references);
15% are required and point only at earlier tables, so a plan exists. Prints tables, lookups, the size
of the largest cycle, deferred lookups and the best of 3 timings; also times parent_first on a
200,000-row self-hierarchy.
"""

from __future__ import annotations

import random
import sys
import time

from seeder.model import Column, Lookup, LookupTarget, Schema, Table
from seeder.plan import build_plan, parent_first


def random_schema(tables: int, seed: int = 1) -> Schema:
    rng = random.Random(seed)
    names = [f"t{i:05d}" for i in range(tables)]
    built = []
    for i, name in enumerate(names):
        lookups = []
        for k in range(rng.randint(0, 6)):
            required = i > 0 and rng.random() < 0.15
            pool = names[:i] if required else names
            targets = sorted(rng.sample(pool, min(len(pool), rng.randint(1, 3))))
            to = tuple(LookupTarget(t, f"c{k}_{t}") for t in targets)
            lookups.append(Lookup(name, f"c{k}", to, required))
        cols = (Column(f"{name}id", "Uniqueidentifier", is_primary_id=True), Column("statecode", "State"))
        built.append(Table(name, f"{name}s", f"{name}id", columns=cols, lookups=tuple(lookups)))
    return Schema(tables=tuple(built))


def best_of(runs: int, fn: object) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main(sizes: list[int]) -> None:
    for n in sizes:
        schema = random_schema(n)
        lookups = sum(len(t.lookups) for t in schema.tables)
        plan = build_plan(schema)
        seconds = best_of(3, lambda s=schema: build_plan(s))
        largest = max((len(c) for c in plan.cycles), default=0)
        print(
            f"build_plan: {n} tables, {lookups} lookups, {len(plan.cycles)} cycles "
            f"(largest {largest} tables), {len(plan.deferred)} deferred, {len(plan.steps)} steps: "
            f"{seconds:.3f} s"
        )
    rng = random.Random(2)
    rows = [{"accountid": f"{i:06d}", "_parentaccountid_value": f"{rng.randrange(i):06d}" if i else None}
            for i in range(200_000)]
    rng.shuffle(rows)
    seconds = best_of(3, lambda: parent_first(rows, "accountid", "_parentaccountid_value"))
    print(f"parent_first: 200000 rows, random tree, shuffled: {seconds:.3f} s")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000])
