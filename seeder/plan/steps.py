"""What a restore plan is made of: steps, deferred lookups, cycles and lookups leaving the selection.

Frozen dataclasses with ``to_dict()`` (plain JSON types, sorted, stable). :class:`Plan` is the value
:func:`seeder.plan.build_plan` returns and every renderer reads; nothing here computes an order.

Actions, in the order they appear in a plan:

* ``upsert``    write the table's rows (``PATCH entityset(id)``), lookups set except the deferred ones;
  a lookup named in ``Step.self_ordered`` points at the same table and is satisfied by writing the
  rows parent-first (see :func:`seeder.plan.parent_first`).
* ``link``      set the deferred lookups of rows already written (``PATCH`` with ``If-Match: *``).
* ``associate`` create the N:N pairs of ``relationship`` once both sides exist.
* ``set-state`` rows are written active; this step sets ``statecode``/``statuscode`` afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ACTIONS", "Action", "Deferral", "OutsideLookup", "Plan", "PlanLookup", "Step"]

Action = Literal["upsert", "link", "associate", "set-state"]
ACTIONS: tuple[Action, ...] = ("upsert", "link", "associate", "set-state")

OutsidePolicy = Literal["match", "null", "error"]


@dataclass(frozen=True)
class PlanLookup:
    """One lookup as a step uses it: the column and the selected tables it may point at."""

    column: str
    targets: tuple[str, ...]
    required: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "targets": list(self.targets), "required": self.required}


@dataclass(frozen=True)
class Step:
    """One pass over one table (or one N:N relationship for ``associate``)."""

    table: str
    action: Action
    lookups: tuple[PlanLookup, ...] = ()
    relationship: str | None = None
    self_ordered: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "table": self.table,
            "action": self.action,
            "lookups": [lk.to_dict() for lk in self.lookups],
        }
        if self.relationship is not None:
            data["relationship"] = self.relationship
        if self.self_ordered:
            data["self_ordered"] = list(self.self_ordered)
        return data


@dataclass(frozen=True)
class Deferral:
    """A nullable lookup written empty by ``upsert`` and set later by ``link``.

    ``targets`` are the target tables whose references are deferred (for a polymorphic lookup, rows
    pointing at other targets keep their value in the upsert). ``cycle`` is the strongly connected set
    of tables that made the deferral necessary.
    """

    table: str
    column: str
    targets: tuple[str, ...]
    cycle: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "targets": list(self.targets),
            "cycle": list(self.cycle),
        }


@dataclass(frozen=True)
class OutsideLookup:
    """A lookup whose ``targets`` lie outside the selection, and what the restore does with it.

    ``policy`` is ``match`` (the referenced row must already exist in the target environment; the value
    is kept) or ``null`` (the value is left empty). ``note`` explains exceptions, such as owners that
    the service fills with the calling user.
    """

    table: str
    column: str
    targets: tuple[str, ...]
    policy: OutsidePolicy
    required: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "table": self.table,
            "column": self.column,
            "targets": list(self.targets),
            "policy": self.policy,
            "required": self.required,
        }
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class Plan:
    """An ordered, referentially consistent way to restore a selection of tables.

    ``cycles`` are the strongly connected groups of two or more tables (a table referencing itself is
    not listed here; its step carries ``self_ordered``). ``policy`` is the outside-selection policy.
    """

    steps: tuple[Step, ...]
    deferred: tuple[Deferral, ...] = ()
    cycles: tuple[tuple[str, ...], ...] = ()
    outside: tuple[OutsideLookup, ...] = ()
    policy: OutsidePolicy = "match"

    @property
    def order(self) -> tuple[str, ...]:
        """Tables in the order their rows are upserted."""
        return tuple(s.table for s in self.steps if s.action == "upsert")

    def steps_for(self, action: Action) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action == action)

    def deferral(self, table: str, column: str) -> Deferral | None:
        for d in self.deferred:
            if d.table == table and d.column == column:
                return d
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "deferred": [d.to_dict() for d in self.deferred],
            "cycles": [list(c) for c in self.cycles],
            "outside": [o.to_dict() for o in self.outside],
            "policy": self.policy,
        }
