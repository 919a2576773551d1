"""Change tracking over real HTTP: odata.track-changes, deltaLink, $deletedEntity; and --state persistence."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from seeder.emulator import EmulatorConfig
from seeder.metadata import crm_core_schema
from tests.emulated.conftest import api_client


def test_track_changes_and_delta(api: httpx.Client) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    api.post("accounts", json={"accountid": a, "name": "A"})
    api.post("accounts", json={"accountid": b, "name": "B"})
    r = api.get("accounts", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"})
    assert r.status_code == 200 and r.headers["Preference-Applied"] == "odata.track-changes"
    body = r.json()
    assert sorted(v["name"] for v in body["value"]) == ["A", "B"]
    delta = body["@odata.deltaLink"]
    assert "$deltatoken=" in delta and "$select=name" in delta
    empty = api.get(delta).json()
    assert empty["value"] == [] and empty["@odata.context"].endswith("#accounts(name)/$delta")
    c = str(uuid.uuid4())
    api.post("accounts", json={"accountid": c, "name": "C"})
    api.patch(f"accounts({a})", json={"name": "A2"})
    api.delete(f"accounts({b})")
    gone = str(uuid.uuid4())
    api.post("accounts", json={"accountid": gone, "name": "short-lived"})
    api.delete(f"accounts({gone})")
    changes = api.get(delta).json()
    rows = [v for v in changes["value"] if "reason" not in v]
    deleted = [v for v in changes["value"] if "reason" in v]
    assert [v["name"] for v in rows] == ["C", "A2"]
    assert {d["id"] for d in deleted} == {b, gone}
    assert all(d["reason"] == "deleted" and d["@odata.context"].endswith("#accounts/$deletedEntity")
               for d in deleted)
    assert changes["value"].index(deleted[0]) > changes["value"].index(rows[-1])  # upserts first
    assert api.get(changes["@odata.deltaLink"]).json()["value"] == []
    bad = api.get("accounts", params={"$filter": "name eq 'A'"}, headers={"Prefer": "odata.track-changes"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == 'The "$filter" query parameter isn\'t supported when Change Tracking ' \
                                             "is enabled."


def test_track_changes_paged(api: httpx.Client) -> None:
    for i in range(5):
        api.post("accounts", json={"name": f"n{i}"})
    headers = {"Prefer": "odata.track-changes,odata.maxpagesize=2"}
    r = api.get("accounts", params={"$select": "name"}, headers=headers).json()
    names = [v["name"] for v in r["value"]]
    while "@odata.nextLink" in r:
        assert "@odata.deltaLink" not in r
        r = api.get(r["@odata.nextLink"], headers=headers).json()
        names += [v["name"] for v in r["value"]]
    assert sorted(names) == [f"n{i}" for i in range(5)]
    assert api.get(r["@odata.deltaLink"]).json()["value"] == []


def test_state_file_survives_restart(start_emulator: Any, tmp_path: Path) -> None:
    state = tmp_path / "env.sqlite"
    rid = str(uuid.uuid4())
    url = start_emulator(EmulatorConfig(state=state), schema=crm_core_schema())
    with api_client(url) as c:
        assert c.post("accounts", json={"accountid": rid, "name": "kept"}).status_code == 204
        etag = c.get(f"accounts({rid})").json()["@odata.etag"]
    url2 = start_emulator(EmulatorConfig(state=state), schema=crm_core_schema())
    with api_client(url2) as c:
        row = c.get(f"accounts({rid})").json()
        assert row["name"] == "kept" and row["@odata.etag"] == etag
        c.post("accounts", json={"name": "after restart"})
        assert int(c.get("accounts", params={"$orderby": "name"}).json()["value"][0]["@odata.etag"][3:-1]) > \
            int(etag[3:-1])
