"""Cloud flow clientdata parsing: connection references, connectors, child flows, environment variables."""

from __future__ import annotations

import json

import pytest

from seeder.components.flows import connector_key, parse_clientdata
from seeder.errors import ComponentError

DV = "shared_commondataserviceforapps"
CHILD = "a361aa67-04ad-ec11-983e-0022486e1632"


def _op(key: str, api: str) -> dict:
    return {"type": "OpenApiConnection",
            "inputs": {"host": {"connectionName": key, "operationId": "x",
                                "apiId": f"/providers/Microsoft.PowerApps/apis/{api}"}}}


def _flow() -> dict:
    return {
        "properties": {
            "connectionReferences": {
                "shared_commondataserviceforapps": {
                    "runtimeSource": "embedded",
                    "connection": {"connectionReferenceLogicalName": "new_dataverse"},
                    "api": {"name": "shared_commondataserviceforapps"},
                },
                "shared_office365": {
                    "runtimeSource": "invoker",
                    "connection": {"connectionReferenceLogicalName": "new_outlook"},
                    "api": {"name": "shared_office365"},
                },
            },
            "definition": {
                "parameters": {
                    "$connections": {"defaultValue": {}, "type": "Object"},
                    "Region (new_Region)": {"type": "String", "metadata": {"schemaName": "new_Region"}},
                },
                "triggers": {"manual": {"type": "Request", "kind": "Button"}},
                "actions": {
                    "Scope": {"type": "Scope", "actions": {
                        "Cond": {"type": "If", "expression": {},
                                 "actions": {"Loop": {"type": "Foreach", "actions": {
                                     "Get": _op(DV, DV)}}},
                                 "else": {"actions": {"Sw": {"type": "Switch", "cases": {
                                     "c1": {"actions": {"Child": {"type": "Workflow", "inputs": {
                                         "host": {"workflowReferenceName": CHILD.upper()},
                                         "body": {"x": "@parameters('Delay (Minutes) (new_Delay)')"}}}}}},
                                     "default": {"actions": {"Mail": _op("shared_office365", "shared_office365")}}}}}},
                    }},
                    "Compose": {"type": "Compose", "inputs": "@{parameters('Region (new_Region)')}"},
                },
            },
        },
        "schemaVersion": "1.0.0.0",
    }


def test_nested_actions_are_walked():
    d = parse_clientdata(json.dumps(_flow()))
    assert d.connection_references == ("new_dataverse", "new_outlook")
    assert d.child_flows == (CHILD,)
    assert d.environment_variables == ("new_Delay", "new_Region")
    assert d.undeclared_keys == ()
    assert d.action_count == 8
    assert [connector_key(c) for c in d.connectors] == ["shared_commondataserviceforapps", "shared_office365"]
    assert d.trigger_types == ("Request",)


def test_bom_bytes_and_mapping_input_agree():
    raw = json.dumps(_flow()).encode("utf-8")
    assert parse_clientdata(b"\xef\xbb\xbf" + raw) == parse_clientdata(_flow())


def test_undeclared_connection_key_is_reported():
    flow = _flow()
    acts = flow["properties"]["definition"]["actions"]
    acts["Teams"] = _op("shared_teams", "shared_teams")
    d = parse_clientdata(flow)
    assert d.undeclared_keys == ("shared_teams",)
    assert "/providers/Microsoft.PowerApps/apis/shared_teams" in d.connectors


def test_legacy_flow_without_reference_name():
    flow = _flow()
    flow["properties"]["connectionReferences"]["shared_office365"] = {
        "connectionName": "shared-office365-1234", "source": "Embedded",
        "id": "/providers/Microsoft.PowerApps/apis/shared_office365"}
    d = parse_clientdata(flow)
    legacy = d.legacy_connections
    assert [c.key for c in legacy] == ["shared_office365"]
    assert legacy[0].connection_name == "shared-office365-1234"
    assert legacy[0].connector_id == "/providers/Microsoft.PowerApps/apis/shared_office365"
    assert d.connection_references == ("new_dataverse",)


def test_connection_reference_name_on_host():
    flow = {"properties": {"connectionReferences": {"k": {"connection": {"connectionReferenceLogicalName": "r"},
                                                          "api": {"name": "shared_sql"}}},
                           "definition": {"actions": {"A": {"type": "OpenApiConnection", "inputs": {
                               "host": {"connectionReferenceName": "other", "apiId": "x/shared_sql"}}}}}}}
    assert parse_clientdata(flow).undeclared_keys == ("other",)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"properties": {"definition": []}}'])
def test_bad_clientdata_raises_component_error(text: str):
    with pytest.raises(ComponentError):
        parse_clientdata(text)


def test_legacy_connection_object_form():
    flow = {"properties": {"connectionReferences": {"shared_sql": {
        "connection": {"name": "/providers/Microsoft.PowerApps/apis/shared_sql/connections/shared-sql-99"},
        "api": {"name": "shared_sql"}}}, "definition": {}}}
    (conn,) = parse_clientdata(flow).legacy_connections
    assert conn.connection_name == "shared-sql-99" and conn.is_legacy
