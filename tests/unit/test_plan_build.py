"""build_plan on hand-built schemas: order, deferrals, self-references, outside policies, N:N, state."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plan_schemas import crm_schema, make_table

from seeder.errors import PlanError, UsageError
from seeder.model import ManyToMany, Schema
from seeder.plan import Plan, build_plan, render_text, table_graph


def test_crm_core_order_and_deferral() -> None:
    plan = build_plan(crm_schema())
    assert plan.order == (
        "businessunit", "systemuser", "team", "account", "contact", "opportunity", "annotation",
    )
    assert [d.to_dict() for d in plan.deferred] == [
        {"table": "account", "column": "primarycontactid", "targets": ["contact"], "cycle": ["account", "contact"]}
    ]
    assert plan.cycles == (("account", "contact"),)
    actions = [s.action for s in plan.steps]
    assert actions == ["upsert"] * 7 + ["link", "associate"] + ["set-state"] * 3
    link = plan.steps_for("link")[0]
    assert (link.table, [lk.column for lk in link.lookups]) == ("account", ["primarycontactid"])


def test_self_references_are_ordered_not_linked() -> None:
    plan = build_plan(crm_schema())
    steps = {s.table: s for s in plan.steps_for("upsert")}
    assert steps["account"].self_ordered == ("parentaccountid",)
    assert steps["businessunit"].self_ordered == ("parentbusinessunitid",)
    # polymorphic: contact.parentcustomerid keeps both targets (account written earlier, contact itself)
    assert steps["contact"].self_ordered == ("parentcustomerid",)
    assert steps["contact"].lookups[1].to_dict() == {
        "column": "parentcustomerid", "targets": ["account", "contact"], "required": False,
    }
    assert all(s.table != "businessunit" for s in plan.steps_for("link"))


def test_polymorphic_lookup_is_one_lookup_with_an_edge_per_selected_target() -> None:
    graph = table_graph(crm_schema(), ["annotation", "account", "opportunity"])
    (objectid,) = [lk for lk in graph.lookups if lk.column == "objectid"]
    assert objectid.targets == ("account", "opportunity")
    assert objectid.outside == ("contact",)
    assert sorted((e.table, e.target) for e in objectid.edges()) == [
        ("annotation", "account"), ("annotation", "opportunity"),
    ]


def test_set_state_steps_come_last_and_associate_after_both_sides() -> None:
    plan = build_plan(crm_schema())
    pos = {(s.action, s.table): i for i, s in enumerate(plan.steps)}
    assoc = pos[("associate", "contactleads")]
    assert assoc > pos[("upsert", "contact")] and assoc > pos[("upsert", "opportunity")]
    assert min(i for (a, _), i in pos.items() if a == "set-state") > max(
        i for (a, _), i in pos.items() if a != "set-state"
    )
    assert [s.table for s in plan.steps_for("set-state")] == ["account", "contact", "opportunity"]


def test_associate_needs_both_sides_selected() -> None:
    plan = build_plan(crm_schema(), ["contact", "account"])
    assert plan.steps_for("associate") == ()


def test_outside_match_reports_and_keeps() -> None:
    plan = build_plan(crm_schema(), ["account", "contact"], outside="match")
    assert [(o.table, o.column, o.targets, o.policy) for o in plan.outside] == [
        ("account", "ownerid", ("systemuser", "team"), "match"),
        ("contact", "ownerid", ("systemuser", "team"), "match"),
    ]
    assert "matched in the target" in plan_text(plan)


def test_outside_null_reports_and_owner_note() -> None:
    plan = build_plan(crm_schema(), ["account", "contact", "opportunity"], outside="null")
    assert {o.policy for o in plan.outside} == {"null"}
    assert all("calling user" in o.note for o in plan.outside if o.column == "ownerid")


def test_outside_null_refuses_required_non_owner_lookups() -> None:
    with pytest.raises(PlanError, match=r"systemuser\.businessunitid → businessunit"):
        build_plan(crm_schema(), ["systemuser"], outside="null")


def test_outside_error_names_the_lookups() -> None:
    with pytest.raises(PlanError) as info:
        build_plan(crm_schema(), ["annotation", "account"], outside="error")
    assert "annotation.objectid → contact, opportunity" in info.value.message
    assert "account.ownerid → systemuser, team" in info.value.details["lookups"]


def test_unknown_table_and_policy_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="nosuch"):
        build_plan(crm_schema(), ["account", "nosuch"])
    with pytest.raises(UsageError, match="policy"):
        build_plan(crm_schema(), outside="drop")


def test_required_cycle_names_cycle_and_lookups() -> None:
    schema = Schema(tables=(
        make_table("a", [("b_id", ["b"], True)]),
        make_table("b", [("c_id", ["c"], True), ("x", ["a"], False)]),
        make_table("c", [("a_id", ["a"], True)]),
    ))
    with pytest.raises(PlanError) as info:
        build_plan(schema)
    assert "a → b → c → a" in info.value.message
    assert info.value.details["cycles"] == [["a", "b", "c"]]
    assert info.value.details["lookups"] == [["a.b_id → b", "b.c_id → c", "c.a_id → a"]]


def test_required_self_reference_is_a_required_cycle() -> None:
    schema = Schema(tables=(make_table("a", [("parent", ["a"], True)]),))
    with pytest.raises(PlanError, match="a → a"):
        build_plan(schema)


def test_mixed_cycle_defers_only_the_nullable_lookup() -> None:
    schema = Schema(tables=(
        make_table("a", [("b_id", ["b"], True)]),
        make_table("b", [("a_id", ["a"], False)]),
    ))
    plan = build_plan(schema)
    assert plan.order == ("b", "a")
    assert [(d.table, d.column) for d in plan.deferred] == [("b", "a_id")]


def test_fewest_lookups_deferred_polymorphic_counts_once() -> None:
    # a → b, a → c through one polymorphic lookup; b → a and c → a through two lookups.
    schema = Schema(tables=(
        make_table("a", [("regarding", ["b", "c"], False)]),
        make_table("b", [("a_id", ["a"], False)]),
        make_table("c", [("a_id", ["a"], False)]),
    ))
    plan = build_plan(schema)
    assert [(d.table, d.column, d.targets) for d in plan.deferred] == [("a", "regarding", ("b", "c"))]
    assert plan.order == ("a", "b", "c")


def test_intersect_tables_are_not_upserted() -> None:
    inter = replace(make_table("ab", []), is_intersect=True)
    schema = Schema(
        tables=(make_table("a", []), make_table("b", []), inter),
        many_to_many=(ManyToMany("a_b", "a", "b", "ab", "aid", "bid"),),
    )
    plan = build_plan(schema)
    assert plan.order == ("a", "b")
    assert [(s.action, s.table, s.relationship) for s in plan.steps[2:]] == [("associate", "ab", "a_b")]


def plan_text(plan: Plan) -> str:
    return render_text(plan)


def _with_column_flags(
    table_name: str, schema: Schema, column: str, *, valid_for_create: bool = True, valid_for_update: bool = True
) -> Schema:
    table = schema.table(table_name)
    cols = tuple(
        replace(c, valid_for_create=valid_for_create, valid_for_update=valid_for_update) if c.name == column else c
        for c in table.columns
    )
    return Schema(
        tables=tuple(replace(table, columns=cols) if t.name == table_name else t for t in schema.tables),
        many_to_many=schema.many_to_many,
    )


def test_read_only_lookups_order_nothing() -> None:
    schema = Schema(tables=(
        make_table("a", [("createdby", ["u"], False)]),
        make_table("u", [("a_id", ["a"], False)]),
    ))
    schema = _with_column_flags("a", schema, "createdby", valid_for_create=False, valid_for_update=False)
    plan = build_plan(schema, outside="error")
    assert plan.cycles == () and plan.deferred == ()
    assert plan.order == ("a", "u")


def test_update_only_lookups_are_always_linked() -> None:
    schema = Schema(tables=(make_table("a", [("b_id", ["b"], False)]), make_table("b", [])))
    schema = _with_column_flags("a", schema, "b_id", valid_for_create=False)
    plan = build_plan(schema)
    assert [d.to_dict() for d in plan.deferred] == [
        {"table": "a", "column": "b_id", "targets": ["b"], "cycle": []}
    ]
    assert "it can only be set on a row that already exists" in plan_text(plan)


def test_create_only_lookups_are_never_deferred() -> None:
    schema = Schema(tables=(
        make_table("a", [("b_id", ["b"], False)]),
        make_table("b", [("a_id", ["a"], False)]),
    ))
    plan = build_plan(_with_column_flags("a", schema, "b_id", valid_for_update=False))
    assert [(d.table, d.column) for d in plan.deferred] == [("b", "a_id")]
    both = _with_column_flags("b", _with_column_flags("a", schema, "b_id", valid_for_update=False),
                              "a_id", valid_for_update=False)
    with pytest.raises(PlanError, match="create-only"):
        build_plan(both)
