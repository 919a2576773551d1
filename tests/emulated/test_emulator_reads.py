"""Reading over real HTTP: $select/$filter/$orderby/$top/$count/$expand, paging, annotations, FetchXML."""

from __future__ import annotations

import threading
import urllib.parse
import uuid

import httpx

ACC = "00000000-0000-0000-0000-0000000000a{}"


def _seed_accounts(api: httpx.Client, n: int) -> list[str]:
    ids = [str(uuid.UUID(int=i + 1)) for i in range(n)]
    targets = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": i, "name": f"Account {n - k:03d}",
                "revenue": float(k * 100), "numberofemployees": k} for k, i in enumerate(ids)]
    r = api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert r.status_code == 200, r.text
    return ids


def test_select_filter_orderby_top_count(api: httpx.Client) -> None:
    _seed_accounts(api, 30)
    r = api.get("accounts", params={"$select": "name,revenue", "$filter": "revenue ge 1000 and revenue lt 2000",
                                    "$orderby": "name desc", "$count": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#accounts(name,revenue)")
    assert body["@odata.count"] == 10
    names = [v["name"] for v in body["value"]]
    assert names == sorted(names, reverse=True) and len(names) == 10
    # a selected currency column brings the currency lookup with it (webapi/query/select-columns)
    assert set(body["value"][0]) == {"@odata.etag", "name", "revenue", "accountid", "_transactioncurrencyid_value"}
    assert body["value"][0]["@odata.etag"].startswith('W/"')
    r = api.get("accounts", params={"$top": "3", "$orderby": "numberofemployees"})
    assert [v["numberofemployees"] for v in r.json()["value"]] == [0, 1, 2]
    assert "@odata.nextLink" not in r.json()
    assert api.get("accounts/$count").text == "30"


def test_filter_values_are_data_not_sql(api: httpx.Client) -> None:
    api.post("accounts", json={"name": "O'Brien 50% off"})
    api.post("accounts", json={"name": "Other"})
    for expr, count in [("name eq 'O''Brien 50% off'", 1), ("contains(name,'50%')", 1), ("contains(name,'%')", 1),
                        ("contains(name,'_')", 0), ("name eq 'x'' or 1=1 --'", 0), ("startswith(name,'o''b')", 1)]:
        r = api.get("accounts", params={"$filter": expr})
        assert r.status_code == 200, (expr, r.text)
        assert len(r.json()["value"]) == count, expr
    r = api.get("accounts", params={"$filter": "name eq"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "0x80060888"
    r = api.get("accounts", params={"$filter": "nosuchcolumn eq 1"})
    assert r.status_code == 400 and "nosuchcolumn" in r.json()["error"]["message"]
    assert api.get("accounts", params={"$skip": "1"}).status_code == 400


def test_single_record_lookup_annotations_and_expand(api: httpx.Client) -> None:
    acc = str(uuid.uuid4())
    con = str(uuid.uuid4())
    assert api.post("accounts", json={"accountid": acc, "name": "Contoso", "statecode": 0}).status_code == 204
    r = api.post("contacts", json={"contactid": con, "lastname": "Smith", "firstname": "Ann",
                                   "parentcustomerid_account@odata.bind": f"/accounts({acc})"})
    assert r.status_code == 204, r.text
    r = api.get(f"contacts({con})", params={"$select": "fullname,_parentcustomerid_value"})
    body = r.json()
    assert body["@odata.context"].endswith("#contacts(fullname,_parentcustomerid_value)/$entity")
    assert body["_parentcustomerid_value"] == acc
    assert "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname" not in body
    assert r.headers["ETag"] == body["@odata.etag"]
    assert api.get(f"contacts({con})", headers={"If-None-Match": body["@odata.etag"]}).status_code == 304
    r = api.get(f"contacts({con})", params={"$select": "_parentcustomerid_value"},
                headers={"Prefer": 'odata.include-annotations="*"'})
    body = r.json()
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == \
        "parentcustomerid_account"
    assert body["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == "Contoso"
    assert "Preference-Applied" in r.headers
    r = api.get(f"accounts({acc})", params={"$select": "statecode"},
                headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'})
    assert r.json()["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    r = api.get("contacts", params={"$select": "fullname",
                                    "$expand": "parentcustomerid_account($select=name)"})
    assert r.json()["value"][0]["parentcustomerid_account"]["name"] == "Contoso"
    r = api.get(f"accounts({acc})", params={"$expand": "contact_customer_accounts($select=fullname)"})
    assert [c["fullname"] for c in r.json()["contact_customer_accounts"]] == ["Ann Smith"]
    r = api.get(f"accounts({uuid.uuid4()})")
    assert r.status_code == 404 and r.json()["error"]["code"] == "0x80040217"
    assert api.get("nosuchset").json()["error"]["code"] == "0x8006088a"


def test_paging_is_stable_under_concurrent_writes(api: httpx.Client, emulator_url: str) -> None:
    ids = _seed_accounts(api, 120)
    stop = threading.Event()

    def writer() -> None:
        from tests.emulated.conftest import api_client

        with api_client(emulator_url, "writer") as w:
            k = 0
            while not stop.is_set() and k < 200:
                # new rows sort before and after the cursor; existing rows are updated and get new versions
                w.post("accounts", json={"accountid": str(uuid.uuid4()), "name": f"new {k}"})
                w.patch(f"accounts({ids[k % len(ids)]})", json={"revenue": 1.0}, headers={"If-Match": "*"})
                k += 1

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[str] = []
    url = "accounts?$select=name"
    pages = 0
    try:
        while url:
            r = api.get(url, headers={"Prefer": "odata.maxpagesize=7"})
            assert r.status_code == 200, r.text
            assert r.headers["Preference-Applied"] == "odata.maxpagesize=7"
            body = r.json()
            assert len(body["value"]) <= 7
            seen += [v["accountid"] for v in body["value"]]
            url = body.get("@odata.nextLink", "")
            pages += 1
    finally:
        stop.set()
        thread.join()
    assert len(seen) == len(set(seen)), "a row appeared on two pages"
    assert set(ids) <= set(seen), "a row that existed throughout was skipped"
    assert seen == sorted(seen)
    assert pages >= 18
    link_query = urllib.parse.urlsplit(body.get("@odata.nextLink", "http://x/?")).query
    assert "$skip=" not in link_query


def test_maxpagesize_capped_and_skiptoken_cookie(api: httpx.Client) -> None:
    _seed_accounts(api, 3)
    r = api.get("accounts", headers={"Prefer": "odata.maxpagesize=2"})
    link = r.json()["@odata.nextLink"]
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["$skiptoken"][0]
    assert token.startswith('<cookie pagenumber="2" pagingcookie="') and 'istracking="False"' in token
    r = api.get("accounts", headers={"Prefer": "odata.maxpagesize=9000"})
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=5000"


def test_fetchxml(api: httpx.Client) -> None:
    _seed_accounts(api, 12)
    fetch = ("<fetch count='5' page='1'><entity name='account'><attribute name='name'/>"
             "<order attribute='name'/><filter type='and'><condition attribute='numberofemployees' "
             "operator='ge' value='2'/><condition attribute='description' operator='null'/></filter>"
             "</entity></fetch>")
    r = api.get("accounts", params={"fetchXml": fetch}, headers={
        "Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,'
                  'Microsoft.Dynamics.CRM.morerecords"'})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["value"]) == 5 and body["@Microsoft.Dynamics.CRM.morerecords"] is True
    assert "pagingcookie=" in body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]
    assert all("description" not in v for v in body["value"])  # FetchXML omits nulls
    bad = api.get("accounts", params={"fetchXml": "<fetch><entity name='account'><attribute name='nope'/>"
                                                  "</entity></fetch>"})
    assert bad.status_code == 400
    evil = api.get("accounts", params={"fetchXml": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                                   "<fetch><entity name='account'><attribute name='name'/>"
                                                   "<filter><condition attribute='name' operator='eq' value='&e;'/>"
                                                   "</filter></entity></fetch>"})
    assert evil.status_code in (200, 400) and "root:" not in evil.text


def test_intersect_entity_set_is_readable(api: httpx.Client) -> None:
    user, team = str(uuid.uuid4()), str(uuid.uuid4())
    assert api.post("systemusers", json={"systemuserid": user, "fullname": "U"}).status_code == 204
    assert api.post("teams", json={"teamid": team, "name": "T"}).status_code == 204
    r = api.post(f"teams({team})/teammembership_association/$ref",
                 json={"@odata.id": f"{api.base_url}systemusers({user})"})
    assert r.status_code == 204, r.text
    rows = api.get("teammembershipset").json()["value"]
    assert [(x["systemuserid"], x["teamid"]) for x in rows] == [(user, team)]
    assert api.post("teammembershipset", json={"systemuserid": user}).status_code == 405
