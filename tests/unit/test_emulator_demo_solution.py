"""The checked-in demo solution and the component rows it loads as."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from seeder.emulator.demo_solution import DEMO_SOLUTION, demo_solution_rows
from seeder.errors import UsageError
from seeder.metadata import crm_core_schema, schema_from_solution
from seeder.model import LOOKUP_LOGICALNAME, Record

SCHEMA = crm_core_schema()


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, Record]]:
    return list(demo_solution_rows())


def by_table(rows: list[tuple[str, Record]], table: str) -> list[Record]:
    return [r for t, r in rows if t == table]


def test_layout_is_pac_unpack() -> None:
    for relative in ("Other/Solution.xml", "Other/Customizations.xml", "Connectors/sdr_5Fticketing.xml",
                     "CanvasApps/sdr_accountexplorer_5e2a1.meta.xml",
                     "environmentvariabledefinitions/sdr_NotificationEmail/environmentvariabledefinition.xml",
                     "environmentvariabledefinitions/sdr_NotificationEmail/environmentvariablevalues.json"):
        assert (DEMO_SOLUTION / relative).is_file(), relative
    assert len(list((DEMO_SOLUTION / "Workflows").glob("*.json"))) == 2
    assert schema_from_solution(DEMO_SOLUTION).tables == ()


def test_counts_and_determinism(rows: list[tuple[str, Record]]) -> None:
    assert Counter(t for t, _ in rows) == {
        "publisher": 1, "solution": 1, "connector": 1, "connectionreference": 3, "environmentvariabledefinition": 2,
        "environmentvariablevalue": 1, "workflow": 2, "canvasapp": 1, "solutioncomponent": 10}
    assert list(demo_solution_rows()) == rows
    assert by_table(rows, "publisher")[0]["customizationprefix"] == "sdr"


def test_rows_fit_the_schema_and_point_at_loaded_rows(rows: list[tuple[str, Record]]) -> None:
    ids = {(t, r[SCHEMA.table(t).primary_id]) for t, r in rows}
    for table, record in rows:
        definition = SCHEMA.table(table)
        for key, value in record.items():
            if key.endswith(LOOKUP_LOGICALNAME):
                continue
            if key.startswith("_") and key.endswith("_value"):
                assert (record[key + LOOKUP_LOGICALNAME], value) in ids, (table, key)
            else:
                assert definition.column(key) is not None, (table, key)
    components = {r["objectid"] for r in by_table(rows, "solutioncomponent")}
    others = {r[SCHEMA.table(t).primary_id] for t, r in rows if t not in ("solution", "solutioncomponent",
                                                                          "publisher")}
    assert components == others


def test_flows_off_parent_calls_child(rows: list[tuple[str, Record]]) -> None:
    flows = {r["workflowid"]: r for r in by_table(rows, "workflow")}
    assert all(f["category"] == 5 and f["statecode"] == 0 and f["statuscode"] == 1 for f in flows.values())
    assert all(f["primaryentity"] == "none" and f["type"] == 1 for f in flows.values())
    clientdata = {wid: json.loads(f["clientdata"]) for wid, f in flows.items()}
    calls = []
    for wid, data in clientdata.items():
        assert data["schemaVersion"] == "1.0.0.0"
        for action in data["properties"]["definition"]["actions"].values():
            if action["type"] == "Workflow":
                calls.append((wid, action["inputs"]["host"]["workflowReferenceName"]))
    assert len(calls) == 1 and calls[0][1] in flows and calls[0][0] != calls[0][1]
    parent = clientdata[calls[0][0]]["properties"]
    references = {v["connection"]["connectionReferenceLogicalName"] for v in parent["connectionReferences"].values()}
    assert references == {"sdr_DemoDataverse", "sdr_DemoOutlook", "sdr_DemoTicketing"}
    variables = {p["metadata"]["schemaName"] for k, p in parent["definition"]["parameters"].items()
                 if not k.startswith("$")}
    assert variables == {r["schemaname"] for r in by_table(rows, "environmentvariabledefinition")}


def test_connection_references_without_connections(rows: list[tuple[str, Record]]) -> None:
    references = {r["connectionreferencelogicalname"]: r for r in by_table(rows, "connectionreference")}
    assert all("connectionid" not in r for r in references.values())
    ticketing = references["sdr_DemoTicketing"]
    connector = by_table(rows, "connector")[0]
    assert ticketing["_customconnectorid_value"] == connector["connectorid"]
    assert json.loads(connector["openapidefinition"])["paths"]
    assert references["sdr_DemoOutlook"]["connectorid"].endswith("/shared_office365")


def test_environment_variables_and_canvas_app(rows: list[tuple[str, Record]]) -> None:
    definitions = {r["schemaname"]: r for r in by_table(rows, "environmentvariabledefinition")}
    assert definitions["sdr_TicketPriority"]["type"] == 100000001
    assert definitions["sdr_NotificationEmail"]["defaultvalue"] == "sales-ops@contoso.example"
    (value,) = by_table(rows, "environmentvariablevalue")
    assert value["_environmentvariabledefinitionid_value"] == \
        definitions["sdr_NotificationEmail"]["environmentvariabledefinitionid"]
    (app,) = by_table(rows, "canvasapp")
    assert app["canvasappid"] != app["uniquecanvasappid"]
    assert "sdr_DemoTicketing" in app["connectionreferences"]


def test_missing_or_broken_solution(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(demo_solution_rows(tmp_path))
    copy = tmp_path / "copy"
    shutil.copytree(DEMO_SOLUTION, copy)
    next(iter((copy / "Workflows").glob("*.json"))).write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        list(demo_solution_rows(copy))
