"""Hand-built schemas for the plan tests (the CRM core shape, and random ones for properties)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from seeder.model import Column, Lookup, LookupTarget, ManyToMany, Schema, Table

LookupSpec = tuple[str, Sequence[str], bool]  # column, targets, required


def make_table(name: str, lookups: Sequence[LookupSpec], *, state: bool = False, owner: str = "") -> Table:
    cols = [Column(f"{name}id", "Uniqueidentifier", is_primary_id=True), Column("name", "String")]
    lks = []
    for column, targets, required in lookups:
        kind = "Owner" if column == owner else "Lookup"
        cols.append(Column(column, kind, required="ApplicationRequired" if required else "None"))
        to = tuple(LookupTarget(t, f"{column}_{t}") for t in targets)
        lks.append(Lookup(name, column, to, required))
    if state:
        cols.append(Column("statecode", "State"))
        cols.append(Column("statuscode", "Status"))
    return Table(name, f"{name}s", f"{name}id", "name", columns=tuple(cols), lookups=tuple(lks))


def crm_schema() -> Schema:
    """account ↔ contact with self-references, an owner, opportunities and an N:N."""
    return Schema(
        tables=(
            make_table(
                "account",
                [
                    ("parentaccountid", ["account"], False),
                    ("primarycontactid", ["contact"], False),
                    ("ownerid", ["systemuser", "team"], True),
                ],
                state=True,
                owner="ownerid",
            ),
            make_table(
                "contact",
                [("parentcustomerid", ["account", "contact"], False), ("ownerid", ["systemuser", "team"], True)],
                state=True,
                owner="ownerid",
            ),
            make_table(
                "opportunity",
                [("customerid", ["account", "contact"], False), ("parentaccountid", ["account"], False)],
                state=True,
            ),
            make_table("annotation", [("objectid", ["account", "contact", "opportunity"], False)]),
            make_table("systemuser", [("businessunitid", ["businessunit"], True)]),
            make_table("team", [("businessunitid", ["businessunit"], True)]),
            make_table("businessunit", [("parentbusinessunitid", ["businessunit"], False)]),
        ),
        many_to_many=(
            ManyToMany("contactleads_association", "contact", "opportunity", "contactleads",
                       "contactid", "opportunityid"),
        ),
    )


def random_schema(
    rng: random.Random,
    tables: int,
    *,
    lookups_per_table: float = 2.0,
    required_share: float = 0.15,
    acyclic_required: bool = False,
    max_targets: int = 3,
) -> Schema:
    """``tables`` tables with random (often polymorphic, sometimes self-) lookups and cycles.

    With ``acyclic_required`` a required lookup only points at tables with a smaller index, so a plan
    always exists.
    """
    names = [f"t{i:04d}" for i in range(tables)]
    built = []
    for i, name in enumerate(names):
        specs: list[LookupSpec] = []
        for k in range(rng.randint(0, int(lookups_per_table * 2))):
            required = rng.random() < required_share
            pool = names[:i] if (required and acyclic_required) else names
            if not pool:
                required, pool = False, names
            count = min(len(pool), rng.randint(1, max_targets))
            specs.append((f"c{k}", sorted(rng.sample(pool, count)), required))
        built.append(make_table(name, specs, state=rng.random() < 0.3))
    rels = []
    for k in range(tables // 10):
        a, b = rng.choice(names), rng.choice(names)
        rels.append(ManyToMany(f"rel{k}", a, b, f"{a}_{b}_{k}", f"{a}id", f"{b}id"))
    return Schema(tables=tuple(built), many_to_many=tuple(rels))
