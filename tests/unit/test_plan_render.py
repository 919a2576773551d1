"""Plan renderings: text explains deferrals in words; json, dot and mermaid carry the same facts."""

from __future__ import annotations

import json

import pytest
from plan_schemas import crm_schema, make_table

from seeder.errors import UsageError
from seeder.model import Schema
from seeder.plan import build_plan, render, render_dot, render_json, render_mermaid, render_text


def test_text_explains_every_deferral() -> None:
    schema = Schema(tables=(
        make_table("a", [("b_id", ["b"], False)]),
        make_table("b", [("c_id", ["c"], False)]),
        make_table("c", [("a_id", ["a"], True)]),
    ))
    plan = build_plan(schema)
    text = render_text(plan)
    (d,) = plan.deferred
    assert (d.table, d.column) == ("a", "b_id")  # a.b_id and b.c_id tie; a.b_id sorts first
    assert (
        "a.b_id → b is deferred: a, b and c reference each other in a cycle; "
        "a rows are written first with it empty, then linked (step 4)."
    ) in text
    assert "  4. link      a: b_id → b" in text


def test_text_for_crm_core() -> None:
    text = render_text(build_plan(crm_schema(), ["account", "contact", "opportunity"]))
    assert (
        "account.primarycontactid → contact is deferred: account and contact reference each other; "
        "account rows are written first with it empty, then linked (step 4)."
    ) in text
    assert "account.parentaccountid → account: rows are written parent-first" in text
    assert "account.ownerid → systemuser, team: matched in the target" in text


def test_json_shape() -> None:
    data = json.loads(render_json(build_plan(crm_schema())))
    assert set(data) >= {"steps", "deferred", "cycles"}
    assert {s["action"] for s in data["steps"]} == {"upsert", "link", "associate", "set-state"}
    for step in data["steps"]:
        assert set(step) >= {"table", "action", "lookups"}
        for lk in step["lookups"]:
            assert set(lk) == {"column", "targets", "required"}
    assert data["deferred"][0].keys() >= {"table", "column", "targets"}
    assert data["cycles"] == [["account", "contact"]]


def test_dot_marks_cycles_and_deferred_edges() -> None:
    dot = render_dot(build_plan(crm_schema()))
    assert dot.startswith("digraph plan {") and dot.rstrip().endswith("}")
    assert 'subgraph cluster_cycle_1 {' in dot
    assert '"account" [color=red];' in dot and '"contact" [color=red];' in dot
    assert '"account" -> "contact" [label="primarycontactid (deferred)", style=dashed, color=red];' in dot
    assert '"account" -> "account" [label="parentaccountid"];' in dot
    assert dot.count("{") == dot.count("}")


def test_mermaid_marks_cycles_and_deferred_edges() -> None:
    text = render_mermaid(build_plan(crm_schema(), ["account", "contact"]))
    lines = text.splitlines()
    assert lines[0] == "flowchart BT"
    assert '  subgraph cycle_1 ["cycle 1"]' in lines
    assert '  t_account -.->|"primarycontactid (deferred)"| t_contact' in lines
    assert "  class t_account,t_contact cycle" in lines
    assert '  t_systemuser(["systemuser (outside)"])' in lines


def test_render_dispatch() -> None:
    plan = build_plan(crm_schema())
    assert render(plan, "mermaid") == render_mermaid(plan)
    with pytest.raises(UsageError):
        render(plan, "svg")
