"""Writing over real HTTP: create, upsert, conditional writes, binds, $ref, state, alternate keys, *Multiple."""

from __future__ import annotations

import uuid

import httpx


def _id(r: httpx.Response) -> str:
    return r.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_create_client_id_and_representation(api: httpx.Client) -> None:
    acc = str(uuid.uuid4())
    r = api.post("accounts", json={"accountid": acc, "name": "A", "revenue": 10})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["OData-EntityId"] == f"{api.base_url}accounts({acc})"
    again = api.post("accounts", json={"accountid": acc, "name": "dup"})
    assert again.status_code == 412 and again.json()["error"]["code"] == "0x80040237"
    r = api.post("accounts?$select=name", json={"name": "B"}, headers={"Prefer": "return=representation"})
    assert r.status_code == 201 and "OData-EntityId" not in r.headers
    body = r.json()
    assert body["name"] == "B" and body["@odata.context"].endswith("#accounts(name)/$entity")
    assert r.headers["ETag"] == body["@odata.etag"]
    row = api.get(f"accounts({acc})").json()
    assert row["statecode"] == 0 and row["statuscode"] == 1 and row["createdon"].endswith("Z")
    assert row["_ownerid_value"] and row["versionnumber"] > 0


def test_validation_errors(api: httpx.Client) -> None:
    r = api.post("accounts", json={"nosuch": 1})
    assert r.status_code == 400 and "nosuch" in r.json()["error"]["message"]
    r = api.post("accounts", json={"name": "x" * 201})
    assert r.status_code == 400 and r.json()["error"]["code"] == "0x80044331"
    r = api.post("accounts", json={"revenue": "lots"})
    assert r.status_code == 400
    r = api.post("accounts", json={"_parentaccountid_value": str(uuid.uuid4())})
    assert r.status_code == 400
    r = api.post("accounts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()
    r = api.post("accounts", json={"industrycode": 999999})
    assert r.status_code == 400


def test_upsert_and_conditions(api: httpx.Client) -> None:
    rid = str(uuid.uuid4())
    assert api.patch(f"accounts({rid})", json={"name": "x"}, headers={"If-Match": "*"}).status_code == 404
    r = api.patch(f"accounts({rid})", json={"name": "created"}, headers={"Prefer": "return=representation"})
    assert r.status_code == 201 and r.json()["accountid"] == rid
    r = api.patch(f"accounts({rid})", json={"name": "updated"}, headers={"Prefer": "return=representation"})
    assert r.status_code == 200 and r.json()["name"] == "updated"
    r = api.patch(f"accounts({rid})", json={"name": "u2"})
    assert r.status_code == 204 and r.headers["OData-EntityId"].endswith(f"accounts({rid})")
    r = api.patch(f"accounts({rid})", json={"name": "no"}, headers={"If-None-Match": "*"})
    assert r.status_code == 412 and r.json()["error"]["message"] == "A record with matching key values already exists."
    etag = api.get(f"accounts({rid})").json()["@odata.etag"]
    assert api.patch(f"accounts({rid})", json={"name": "v"}, headers={"If-Match": etag}).status_code == 204
    stale = api.patch(f"accounts({rid})", json={"name": "w"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and "RowVersion" in stale.json()["error"]["message"]
    new = str(uuid.uuid4())
    assert api.patch(f"accounts({new})", json={"name": "n"}, headers={"If-None-Match": "*"}).status_code == 204
    assert api.delete(f"accounts({new})").status_code == 204
    assert api.delete(f"accounts({new})").status_code == 404
    assert api.get(f"accounts({new})").status_code == 404


def test_binds_single_polymorphic_and_missing(api: httpx.Client) -> None:
    acc = _id(api.post("accounts", json={"name": "Parent"}))
    con = _id(api.post("contacts", json={"lastname": "C", "parentcustomerid_account@odata.bind": f"accounts({acc})"}))
    r = api.patch(f"contacts({con})", json={"parentcustomerid_contact@odata.bind": f"/contacts({con})"})
    assert r.status_code == 204
    row = api.get(f"contacts({con})", headers={"Prefer": 'odata.include-annotations="*"'}).json()
    assert row["_parentcustomerid_value"] == con
    assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    missing = str(uuid.uuid4())
    r = api.post("contacts", json={"lastname": "D", "parentcustomerid_account@odata.bind": f"/accounts({missing})"})
    assert r.status_code == 404
    assert r.json()["error"] == {"code": "0x80040217", "message": f"account With Id = {missing} Does Not Exist"}
    r = api.post("accounts", json={"name": "x", "nosuchnav@odata.bind": f"/accounts({acc})"})
    assert r.status_code == 400
    r = api.post("accounts", json={"name": "x", "parentaccountid@odata.bind": f"/contacts({con})"})
    assert r.status_code == 400
    api.patch(f"contacts({con})", json={"parentcustomerid_contact@odata.bind": None})
    assert api.get(f"contacts({con})").json()["_parentcustomerid_value"] is None
    user = _id(api.post("systemusers", json={"lastname": "Owner"}))
    team = _id(api.post("teams", json={"name": "Team"}))
    api.patch(f"accounts({acc})", json={"ownerid@odata.bind": f"/teams({team})"})
    row = api.get(f"accounts({acc})", headers={"Prefer": 'odata.include-annotations="*"'}).json()
    assert (row["_ownerid_value"], row["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"]) == (team, "team")
    api.patch(f"accounts({acc})", json={"ownerid@odata.bind": f"{api.base_url}systemusers({user})"})
    assert api.get(f"accounts({acc})").json()["_ownerid_value"] == user


def test_ref_associate_disassociate(api: httpx.Client) -> None:
    acc = _id(api.post("accounts", json={"name": "A"}))
    lead = _id(api.post("leads", json={"lastname": "L"}))
    con = _id(api.post("contacts", json={"lastname": "C"}))
    r = api.post(f"accounts({acc})/accountleads_association/$ref", json={"@odata.id": f"leads({lead})"})
    assert r.status_code == 204
    dup = api.post(f"accounts({acc})/accountleads_association/$ref", json={"@odata.id": f"leads({lead})"})
    assert dup.status_code == 412 and dup.json()["error"]["code"] == "0x80040237"
    got = api.get(f"accounts({acc})", params={"$expand": "accountleads_association($select=fullname)"}).json()
    assert [x["leadid"] for x in got["accountleads_association"]] == [lead]
    r = api.delete(f"accounts({acc})/accountleads_association/$ref", params={"$id": f"{api.base_url}leads({lead})"})
    assert r.status_code == 204
    assert api.get("accountleadsset").json()["value"] == []
    r = api.put(f"accounts({acc})/primarycontactid/$ref", json={"@odata.id": f"contacts({con})"})
    assert r.status_code == 204 and api.get(f"accounts({acc})").json()["_primarycontactid_value"] == con
    assert api.delete(f"accounts({acc})/primarycontactid/$ref").status_code == 204
    assert api.get(f"accounts({acc})").json()["_primarycontactid_value"] is None
    r = api.post(f"accounts({acc})/contact_customer_accounts/$ref", json={"@odata.id": f"contacts({con})"})
    assert r.status_code == 204 and api.get(f"contacts({con})").json()["_parentcustomerid_value"] == acc
    # deleting the parent removes the link (RemoveLink)
    assert api.delete(f"accounts({acc})").status_code == 204
    assert api.get(f"contacts({con})").json()["_parentcustomerid_value"] is None


def test_state_and_status(api: httpx.Client) -> None:
    acc = _id(api.post("accounts", json={"name": "A"}))
    assert api.patch(f"accounts({acc})", json={"statecode": 1}).status_code == 204
    row = api.get(f"accounts({acc})").json()
    assert (row["statecode"], row["statuscode"]) == (1, 2)
    bad = api.patch(f"accounts({acc})", json={"statecode": 0, "statuscode": 2})
    assert bad.status_code == 400
    assert api.patch(f"accounts({acc})", json={"statecode": 0, "statuscode": 1}).status_code == 204
    opp = _id(api.post("opportunities", json={"name": "O"}))
    assert api.patch(f"opportunities({opp})", json={"statuscode": 3}).status_code == 204
    assert api.get(f"opportunities({opp})").json()["statecode"] == 1


def test_alternate_keys(api: httpx.Client) -> None:
    r = api.patch("accounts(accountnumber='A-1')", json={"name": "Keyed"})
    assert r.status_code == 204 and r.headers["OData-EntityId"].endswith("accounts(accountnumber='A-1')")
    got = api.get("accounts(accountnumber='A-1')").json()
    assert got["name"] == "Keyed" and got["accountnumber"] == "A-1"
    assert api.patch("accounts(accountnumber='A-1')", json={"name": "K2"}).status_code == 204
    assert len(api.get("accounts").json()["value"]) == 1
    miss = api.get("accounts(accountnumber='nope')")
    assert miss.status_code == 404 and miss.json()["error"]["code"] == "0x80060891"
    assert api.get("accounts(name='x')").status_code == 400  # not a key
    dup = api.post("accounts", json={"name": "other", "accountnumber": "A-1"})
    assert dup.status_code == 412
    con = _id(api.post("contacts", json={"lastname": "C", "parentcustomerid_account@odata.bind":
                                         "/accounts(accountnumber='A-1')"}))
    assert api.get(f"contacts({con})").json()["_parentcustomerid_value"] == got["accountid"]
    assert api.put(f"accounts({got['accountid']})/name", json={"value": "Renamed"}).status_code == 204
    assert api.get(f"accounts({got['accountid']})/name").json()["value"] == "Renamed"
    assert api.delete("accounts(accountnumber='A-1')").status_code == 204


def test_multiple_all_or_nothing(api: httpx.Client) -> None:
    t = "Microsoft.Dynamics.CRM.account"
    r = api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple",
                 json={"Targets": [{"@odata.type": t, "name": "A"}, {"@odata.type": t, "name": "B"}]})
    assert r.status_code == 200 and len(r.json()["Ids"]) == 2
    assert r.json()["@odata.context"].endswith("#Microsoft.Dynamics.CRM.CreateMultipleResponse")
    ids = r.json()["Ids"]
    r = api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple",
                 json={"Targets": [{"@odata.type": t, "name": "C"}, {"name": "no type"}]})
    assert r.status_code == 400
    r = api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple",
                 json={"Targets": [{"@odata.type": t, "name": "C"}, {"@odata.type": t, "name": "x" * 500}]})
    assert r.status_code == 400
    assert len(api.get("accounts").json()["value"]) == 2  # nothing from the failed requests
    r = api.post("accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
                 json={"Targets": [{"@odata.type": t, "accountid": ids[0], "name": "A2"}]})
    assert r.status_code == 204
    r = api.post("accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
                 json={"Targets": [{"@odata.type": t, "accountid": ids[1], "name": "B2"},
                                   {"@odata.type": t, "accountid": str(uuid.uuid4()), "name": "ghost"}]})
    assert r.status_code == 404
    assert api.get(f"accounts({ids[1]})").json()["name"] == "B"
    new = str(uuid.uuid4())
    r = api.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple",
                 json={"Targets": [{"@odata.type": t, "accountid": ids[1], "name": "B3"},
                                   {"@odata.type": t, "accountid": new, "name": "N"},
                                   {"@odata.type": t, "@odata.id": "accounts(accountnumber='K-9')", "name": "K"}]})
    assert r.status_code == 204, r.text
    names = sorted(v["name"] for v in api.get("accounts").json()["value"])
    assert names == ["A2", "B3", "K", "N"]
    assert api.get("accounts(accountnumber='K-9')").json()["name"] == "K"
