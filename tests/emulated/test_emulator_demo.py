"""The emulator with the demo organisation and with --schema sources from the corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from seeder.emulator import EmulatorConfig
from tests.emulated.conftest import api_client


def test_demo_organisation_is_served(demo_emulator_url: str) -> None:
    with api_client(demo_emulator_url) as api:
        who = api.get("WhoAmI").json()
        user = api.get(f"systemusers({who['UserId']})")
        assert user.status_code == 200, "WhoAmI names a user that exists in the demo organisation"
        contacts = api.get("contacts", params={"$select": "fullname,_parentcustomerid_value", "$count": "true",
                                               "$filter": "_parentcustomerid_value ne null"},
                           headers={"Prefer": 'odata.include-annotations="*"'}).json()
        assert contacts["@odata.count"] > 0
        first = contacts["value"][0]
        assert first["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] in ("account", "contact")
        inactive = api.get("accounts", params={"$filter": "statecode eq 1", "$count": "true"}).json()
        assert inactive["@odata.count"] >= 0
        flows = api.get("workflows", params={"$select": "name,clientdata"}).json()["value"]
        assert flows, "demo solution component rows are loaded"
        assert api.get("organizations").json()["value"][0]["isproduction"] is False
    stats = httpx.get(demo_emulator_url + "/_emulator/stats").json()
    assert stats["internal_errors"] == []
    assert stats["tables"]["contact"] > 0 and stats["tables"]["businessunit"] > 0


def test_reference_data_only_is_deterministic(start_emulator: Any) -> None:
    snapshots = []
    for _ in range(2):
        url = start_emulator(EmulatorConfig(demo=True, records=0, seed=5))
        with api_client(url) as api:
            snapshots.append([v["businessunitid"] for v in api.get("businessunits").json()["value"]])
            assert api.get("contacts").json()["value"] == []
    assert snapshots[0] == snapshots[1] and snapshots[0]


def test_schema_from_corpus_solution(start_emulator: Any, corpus: Path) -> None:
    solution = corpus / "business-approvals-kit" / "BusinessApprovalKit" / "SolutionPackage" / "src"
    url = start_emulator(EmulatorConfig(schema_paths=(solution,)))
    with api_client(url) as api:
        defs = api.get("EntityDefinitions", params={"$select": "LogicalName,EntitySetName"}).json()["value"]
        sets = {d["LogicalName"]: d["EntitySetName"] for d in defs}
        assert "cat_businessapprovalinstance" in sets
        entity_set = sets["cat_businessapprovalinstance"]
        r = api.post(entity_set, json={}, headers={"Prefer": "return=representation"})
        assert r.status_code == 201, r.text
        assert api.get(entity_set).json()["value"][0]["@odata.etag"]
