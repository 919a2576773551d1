"""Write ``cassettes/emulator/*.yaml``: Microsoft's documented Web API exchanges, as vcrpy cassettes.

Run by hand (``.venv/bin/python tests/recorded/emulator_cassettes.py``). Each exchange below is the request and
response printed on the Microsoft Learn page named next to it (host = the documentation's placeholder
``contoso.crm.dynamics.com``; ``[Organization URI]`` written out as it). Where a page elides a body with ``...``
the elided rows are filled in with the ids the same page uses; nothing else is changed. The parity test
(``test_emulator_parity.py``) replays every one of them against the emulator; ``cassettes/emulator/README.md``
lists the pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "cassettes" / "emulator"
HOST = "contoso.crm.dynamics.com"
API = f"https://{HOST}/api/data/v9.2"
JSON_MINIMAL = "application/json; odata.metadata=minimal"
REASONS = {200: "OK", 201: "Created", 204: "No Content", 404: "Not Found"}

# ids printed on the pages the examples come from
LITWARE = "4624eff7-53d3-ed11-a7c7-000d3a993550"  # query/select-columns
ADATUM = "4b757ff7-9c85-ee11-8179-000d3a9933c9"  # query/overview (formatted values)
CURRENCY = "228f42f8-e646-e111-8eb7-78e7d162ced1"
SAMPLE_ACCOUNT = "7eb682f1-ca75-e511-80d4-00155d2a68d1"  # create-entity-web-api / update-delete
MISSING = "00000000-0000-0000-0000-000000000001"  # perform-conditional-operations
MONTE_ORTON = "60c4e274-0d87-e711-80e5-00155db19e6d"  # use-change-tracking
DELETED_ACCOUNT = "2e451703-c686-e711-80e5-00155db19e6d"
OPPORTUNITY = "00000000-0000-0000-0000-000000000002"  # associate-disassociate-entities


def exchange(method: str, path: str, status: int, *, body: Any = None, headers: dict[str, str] | None = None,
             response: Any = None, response_headers: dict[str, str] | None = None,
             content_type: str | None = None) -> dict[str, Any]:
    """One vcrpy interaction. JSON ``body``/``response`` values are serialised; ``str`` is taken verbatim."""
    req_headers = {"accept": ["application/json"], "host": [HOST], "odata-maxversion": ["4.0"],
                   "odata-version": ["4.0"]}
    if method == "GET":
        req_headers["if-none-match"] = ["null"]
    req_body = ""
    if body is not None:
        req_body = body if isinstance(body, str) else orjson.dumps(body).decode()
        req_headers["content-type"] = ["application/json; charset=utf-8"]
    for name, value in (headers or {}).items():
        req_headers[name.lower()] = [value]
    resp_headers = {"odata-version": ["4.0"]}
    resp_body = ""
    if response is not None:
        resp_body = response if isinstance(response, str) else orjson.dumps(response).decode()
        resp_headers["content-type"] = [content_type or JSON_MINIMAL]
    for name, value in (response_headers or {}).items():
        resp_headers[name.lower()] = [value]
    return {"request": {"body": req_body, "headers": dict(sorted(req_headers.items())), "method": method,
                        "uri": f"{API}/{path}"},
            "response": {"body": {"string": resp_body}, "headers": dict(sorted(resp_headers.items())),
                         "status": {"code": status, "message": REASONS[status]}}}


def ctx(fragment: str) -> str:
    return f"{API}/$metadata#{fragment}"


def query() -> list[dict[str, Any]]:
    formatted = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'
    counts = ('odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,'
              'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"')
    fv = "@OData.Community.Display.V1.FormattedValue"
    return [
        # webapi/query/select-columns: a selected currency column brings _transactioncurrencyid_value along
        exchange("GET", "accounts?$select=name,revenue&$top=1", 200, response={
            "@odata.context": ctx("accounts(name,revenue)"), "value": [{
                "@odata.etag": 'W/"81052965"', "name": "Litware, Inc. (sample)", "revenue": 20000.0,
                "_transactioncurrencyid_value": CURRENCY, "accountid": LITWARE}]}),
        # webapi/query/overview + formatted values: Preference-Applied echo and FormattedValue annotations
        exchange("GET", "accounts?$select=name,statecode,statuscode&$orderby=name&$top=1", 200,
                 headers={"Prefer": formatted}, response_headers={"Preference-Applied": formatted}, response={
                     "@odata.context": ctx("accounts(name,statecode,statuscode)"), "value": [{
                         "@odata.etag": 'W/"112430907"', "name": "A. Datum Corporation (sample)",
                         "statecode" + fv: "Active", "statecode": 0, "statuscode" + fv: "Active",
                         "statuscode": 1, "accountid": ADATUM}]}),
        # webapi/query/count-rows: $count=true with the total-record-count annotations
        exchange("GET", "accounts?$select=name&$filter=contains(name,'sample')&$count=true", 200,
                 headers={"Prefer": counts}, response_headers={"Preference-Applied": counts}, response={
                     "@odata.context": ctx("accounts(name)"), "@odata.count": 2,
                     "@Microsoft.Dynamics.CRM.totalrecordcount": 2,
                     "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded": False, "value": [
                         {"@odata.etag": 'W/"112430907"', "name": "A. Datum Corporation (sample)",
                          "accountid": ADATUM},
                         {"@odata.etag": 'W/"81052965"', "name": "Litware, Inc. (sample)", "accountid": LITWARE}]}),
        # webapi/query/count-rows: the /$count path segment answers text/plain
        exchange("GET", "accounts/$count", 200, response="2", content_type="text/plain"),
    ]


def write_conditions() -> list[dict[str, Any]]:
    select = "name,creditonhold,address1_latitude,description,revenue,accountcategorycode,createdon"
    created = "d6f193fc-ce85-e611-80d8-00155d2a68de"
    return [
        # webapi/create-entity-web-api "Create with data returned"
        exchange("POST", f"accounts?$select={select}", 201, headers={"Prefer": "return=representation"},
                 body={"name": "Sample Account", "creditonhold": False, "address1_latitude": 47.639583,
                       "description": "This is the description of the sample account", "revenue": 5000000,
                       "accountcategorycode": 1},
                 response_headers={"Preference-Applied": "return=representation", "ETag": 'W/"536530"'},
                 response={"@odata.context": ctx("accounts/$entity"), "@odata.etag": 'W/"536530"',
                           "accountid": created, "accountcategorycode": 1,
                           "description": "This is the description of the sample account",
                           "address1_latitude": 47.63958, "creditonhold": False, "name": "Sample Account",
                           "createdon": "2016-09-28T22:57:53Z", "revenue": 5000000.0,
                           "_transactioncurrencyid_value": "048dddaa-6f7f-e611-80d3-00155db5e0b6"}),
        # webapi/perform-conditional-operations-using-web-api "Prevent create in upsert": If-Match: * on a
        # missing row is a 404
        exchange("PATCH", f"accounts({MISSING})", 404, headers={"If-Match": "*"}, body={"name": "Updated name"},
                 response={"error": {"code": "0x80040217",
                                     "message": f"account With Id = {MISSING} Does Not Exist"}}),
        # webapi/update-delete-entities-using-web-api "Basic update" with If-Match: * on an existing row
        exchange("PATCH", f"accounts({SAMPLE_ACCOUNT})", 204, headers={"If-Match": "*"},
                 body={"name": "Updated Sample Account", "creditonhold": True, "address1_latitude": 47.639583,
                       "description": "This is the updated description of the sample account",
                       "revenue": 6000000, "accountcategorycode": 2}),
        # use-alternate-key-reference-record / use-upsert-insert-update-record: upsert addressed by an
        # alternate key; OData-EntityId echoes the key form, not a GUID
        exchange("PATCH", "accounts(accountnumber='A-100')", 204, body={"name": "Keyed account"},
                 response_headers={"OData-EntityId": f"{API}/accounts(accountnumber='A-100')"}),
    ]


def create_multiple() -> list[dict[str, Any]]:
    # webapi/reference/createmultiple and bulk-operations
    return [exchange("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", 200, body={"Targets": [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "sample record 0000001"},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "sample record 0000002"}]},
        response={"@odata.context": ctx("Microsoft.Dynamics.CRM.CreateMultipleResponse"),
                  "Ids": ["8f4c3f92-312b-ee11-bdf4-000d3a993550", "904c3f92-312b-ee11-bdf4-000d3a993550"]})]


def change_tracking() -> list[dict[str, Any]]:
    # use-change-tracking-synchronize-data-external-systems: initial sync, then the deltaLink after one
    # update and one delete
    select = "name,accountnumber,telephone1,fax"
    first_token = "919042%2108%2f22%2f2017%2008%3a10%3a44"
    row = {"@odata.etag": 'W/"915244"', "name": "Monte Orton", "accountnumber": "A-1234",
           "telephone1": "555000", "fax": "10101", "accountid": MONTE_ORTON}
    return [
        exchange("GET", f"accounts?$select={select}", 200, headers={"Prefer": "odata.track-changes"},
                 response_headers={"Preference-Applied": "odata.track-changes"}, response={
                     "@odata.context": ctx(f"accounts({select})"),
                     "@odata.deltaLink": f"{API}/accounts?$select={select}&$deltatoken={first_token}",
                     "value": [{**row, "telephone1": None, "fax": None},
                               {"@odata.etag": 'W/"915200"', "name": "Coho Winery", "accountnumber": "A-1235",
                                "telephone1": None, "fax": None, "accountid": DELETED_ACCOUNT}]}),
        exchange("GET", f"accounts?$select={select}&$deltatoken={first_token}", 200, response={
            "@odata.context": ctx(f"accounts({select})/$delta"),
            "@odata.deltaLink": f"{API}/accounts?$select={select}&$deltatoken=919058%2108%2f22%2f2017%2008%3a21%3a20",
            "value": [row, {"@odata.context": ctx("accounts/$deletedEntity"), "id": DELETED_ACCOUNT,
                            "reason": "deleted"}]}),
    ]


def batch_changeset() -> list[dict[str, Any]]:
    # webapi/execute-batch-operations-using-web-api: a changeset (create + create bound to $1) and a GET
    crlf = "\r\n"
    request = crlf.join([
        "--batch_AAA", 'Content-Type: multipart/mixed; boundary="changeset_BBB"', "",
        "--changeset_BBB", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "Content-ID: 1",
        "", "POST /api/data/v9.2/accounts HTTP/1.1", "Content-Type: application/json; type=entry", "",
        '{"name":"Parent"}',
        "--changeset_BBB", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "Content-ID: 2",
        "", "POST /api/data/v9.2/contacts HTTP/1.1", "Content-Type: application/json; type=entry", "",
        '{"lastname":"Child","parentcustomerid_account@odata.bind":"$1"}',
        "--changeset_BBB--", "",
        "--batch_AAA", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
        "GET /api/data/v9.2/accounts?$select=name&$top=1 HTTP/1.1", "", "",
        "--batch_AAA--", ""])
    outer, inner = "batchresponse_f27ef42d-3f3b-4a3a-8e4a-5b2a1c9d0e11", "changesetresponse_64cc3fff-0d1c-4b2e-9a8f"
    account, contact = "e73ffc82-2b0a-ef11-9f89-000d3a9933c9", "e83ffc82-2b0a-ef11-9f89-000d3a9933c9"

    def created(cid: int, entity: str) -> list[str]:
        return [f"--{inner}", "Content-Type: application/http", "Content-Transfer-Encoding: binary",
                f"Content-ID: {cid}", "", "HTTP/1.1 204 No Content", "OData-Version: 4.0",
                f"Location: {API}/{entity}", f"OData-EntityId: {API}/{entity}", "", ""]

    listing = orjson.dumps({"@odata.context": ctx("accounts(name)"), "value": [
        {"@odata.etag": 'W/"112430907"', "name": "Parent", "accountid": account}]}).decode()
    response = crlf.join([
        f"--{outer}", f"Content-Type: multipart/mixed; boundary={inner}", "",
        *created(1, f"accounts({account})"), *created(2, f"contacts({contact})"), f"--{inner}--",
        f"--{outer}", "Content-Type: application/http", "Content-Transfer-Encoding: binary", "",
        "HTTP/1.1 200 OK", "Content-Type: application/json; odata.metadata=minimal; odata.streaming=true",
        "OData-Version: 4.0", "", listing, f"--{outer}--", ""])
    return [exchange("POST", "$batch", 200, body=request,
                     headers={"Content-Type": 'multipart/mixed; boundary="batch_AAA"',
                              "Prefer": "odata.continue-on-error"},
                     response=response, content_type=f"multipart/mixed; boundary={outer}")]


def associate() -> list[dict[str, Any]]:
    # webapi/associate-disassociate-entities-using-web-api: add to and remove from a collection-valued
    # navigation property with $ref
    ref = f"{API}/opportunities({OPPORTUNITY})"
    return [
        exchange("POST", f"accounts({SAMPLE_ACCOUNT})/opportunity_customer_accounts/$ref", 204,
                 body={"@odata.id": ref}),
        exchange("DELETE", f"accounts({SAMPLE_ACCOUNT})/opportunity_customer_accounts/$ref?$id={ref}", 204),
    ]


CASSETTES = {"query": query, "write_conditions": write_conditions, "create_multiple": create_multiple,
             "change_tracking": change_tracking, "batch_changeset": batch_changeset, "associate": associate}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in CASSETTES.items():
        path = OUT / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"interactions": build(), "version": 1}, sort_keys=False, width=110),
                        encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
