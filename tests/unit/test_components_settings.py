"""Deployment settings read/write and proposing connection ids from the target's connections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from components_rows import rows

from seeder.components import ComponentSet, DeploymentSettings, propose_settings
from seeder.errors import ComponentError

API = "/providers/Microsoft.PowerApps/apis/"


def conn(name: str, api: str, status: str = "Connected", owner: str = "someone") -> dict:
    """A connection in the Power Apps connections API shape."""
    return {"name": name, "id": f"{API}{api}/connections/{name}", "type": "Microsoft.PowerApps/apis/connections",
            "properties": {"apiId": API + api, "displayName": name, "statuses": [{"status": status}],
                           "createdBy": {"id": owner, "displayName": owner, "type": "User"}}}


def test_round_trip_keeps_extra_keys(tmp_path: Path):
    text = ('\ufeff{\n    "EnvironmentVariables":  [ { "SchemaName": "a", "Value": "#{env.a}#",'
            ' "DefaultValue": "x" } ],\n'
            '    "ConnectionReferences":  [ { "LogicalName": "r", "ConnectionId": "#{c.r}#", "ConnectorId": "/x",'
            ' "ConnectionOwner": "#{o.r}#" } ],\n    "Extra": {"k": 1}\n}')
    src = tmp_path / "in.json"
    src.write_text(text, encoding="utf-8")
    s = DeploymentSettings.load(src)
    assert s.unresolved() == ["r", "a"]
    assert s.connection_id("r") is None and s.value("a") is None
    out = tmp_path / "out.json"
    s.dump(out)
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(text.lstrip("\ufeff"))
    assert DeploymentSettings.load(out) == s


@pytest.mark.parametrize("text", ["[]", '{"ConnectionReferences": [{"ConnectionId": "x"}]}',
                                  '{"EnvironmentVariables": {}}', "{"])
def test_bad_settings_raise(text: str):
    with pytest.raises(ComponentError):
        DeploymentSettings.loads(text)


def test_from_components_and_component_parameters():
    s = DeploymentSettings.from_components(ComponentSet.from_rows(rows()))
    assert [(c.logical_name, c.connection_id) for c in s.connection_references] == [
        ("new_dataverse", ""), ("new_outlook", "shared-office365-abc")]
    assert [(e.schema_name, e.value) for e in s.environment_variables] == [("new_Empty", ""), ("new_Region", "US")]
    params = s.to_component_parameters()
    assert params == [
        {"@odata.type": "Microsoft.Dynamics.CRM.connectionreference", "connectionreferencelogicalname": "new_outlook",
         "connectionid": "shared-office365-abc", "connectorid": API + "shared_office365"},
        {"@odata.type": "Microsoft.Dynamics.CRM.environmentvariablevalue", "schemaname": "new_Region", "value": "US"},
    ]


def test_propose_prefers_connected_then_owner_then_name():
    cs = ComponentSet.from_rows(rows())
    connections = [
        conn("shared-commondataser-zzz", "shared_commondataserviceforapps"),
        conn("shared-commondataser-aaa", "shared_commondataserviceforapps", status="Error"),
        conn("shared-commondataser-mmm", "shared_commondataserviceforapps", owner="svc"),
        conn("shared-office365-new", "shared_office365"),
    ]
    p = propose_settings(cs, connections)
    got = {m.logical_name: (m.connection_id, m.how) for m in p.matched}
    assert got["new_dataverse"] == ("shared-commondataser-mmm", "matched")   # first Connected by name
    assert got["new_outlook"] == ("shared-office365-new", "matched")        # source id is not kept blindly
    assert p.findings == ()
    assert propose_settings(cs, list(reversed(connections))) == p           # deterministic
    owned = propose_settings(cs, connections, owner="SOMEONE")
    assert owned.settings.connection_id("new_dataverse") == "shared-commondataser-zzz"


def test_propose_keeps_given_ids_and_flags_unmatched():
    cs = ComponentSet.from_rows(rows())
    given = DeploymentSettings.loads(json.dumps({
        "EnvironmentVariables": [{"SchemaName": "new_Empty", "Value": "filled"}],
        "ConnectionReferences": [{"LogicalName": "new_outlook", "ConnectionId": "given-id", "ConnectorId": "",
                                  "ConnectionOwner": "me"}]}))
    p = propose_settings(cs, [conn("bad", "shared_commondataserviceforapps", status="Error")], settings=given)
    assert p.settings.connection_id("new_outlook") == "given-id"
    assert p.settings.connection_references[1].extra == (("ConnectionOwner", "me"),)
    assert p.settings.connection_id("new_dataverse") is None
    assert p.settings.value("new_Empty") == "filled"
    assert [(f.code, f.component) for f in p.findings] == [("no-connection", "new_dataverse")]
    assert "not Connected" in p.findings[0].message
    none = propose_settings(cs, [])
    assert {f.component for f in none.findings} == {"new_dataverse", "new_outlook"}
    assert "no connection" in none.findings[0].message


def test_flat_connection_shape_is_accepted():
    cs = ComponentSet.from_rows(rows())
    p = propose_settings(cs, [{"name": "flat-1", "apiId": "shared_commondataserviceforapps", "status": "Connected"}])
    assert p.settings.connection_id("new_dataverse") == "flat-1"
