"""Metadata and service functions over real HTTP: WhoAmI, $metadata, EntityDefinitions, organizations, auth."""

from __future__ import annotations

import httpx
from lxml import etree

from tests.emulated.conftest import API, api_client


def test_auth_required(emulator_url: str) -> None:
    r = httpx.get(emulator_url + API + "WhoAmI")
    assert r.status_code == 401
    assert set(r.json()["error"]) == {"code", "message"}
    r = httpx.get(emulator_url + API + "WhoAmI", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_whoami_version_and_service_document(api: httpx.Client) -> None:
    r = api.get("WhoAmI")
    assert r.status_code == 200 and int(r.headers["x-ms-dop-hint"]) > 0
    assert set(r.json()) == {"@odata.context", "BusinessUnitId", "UserId", "OrganizationId"}
    assert r.headers["OData-Version"] == "4.0"
    assert api.get("RetrieveVersion()").json()["Version"].startswith("9.2")
    sets = {v["name"] for v in api.get("").json()["value"]}
    assert {"accounts", "contacts", "workflows", "teammembershipset"} <= sets


def test_csdl(api: httpx.Client) -> None:
    r = api.get("$metadata")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml")
    root = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"e": "http://docs.oasis-open.org/odata/ns/edm"}
    account = root.find(".//e:EntityType[@Name='account']", ns)
    assert account is not None
    assert account.find("e:Key/e:PropertyRef", ns).get("Name") == "accountid"
    nav = account.find("e:NavigationProperty[@Name='primarycontactid']", ns)
    assert nav.get("Type") == "mscrm.contact"
    assert nav.find("e:ReferentialConstraint", ns).get("Property") == "_primarycontactid_value"
    assert account.find(".//e:PropertyValue[@PropertyPath='accountnumber']", ns) is not None
    assert root.find(".//e:EntitySet[@Name='accounts']", ns).get("EntityType") == "Microsoft.Dynamics.CRM.account"
    team = root.find(".//e:EntityType[@Name='team']", ns)
    n2n = team.find("e:NavigationProperty[@Name='teammembership_association']", ns)
    assert n2n.get("Partner") == "teammembership_association"


def test_entity_definitions(api: httpx.Client) -> None:
    r = api.get("EntityDefinitions", params={"$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
                                             "$filter": "IsIntersect eq false and OwnershipType eq "
                                                        "Microsoft.Dynamics.CRM.OwnershipTypes'UserOwned'"})
    assert r.status_code == 200, r.text
    rows = r.json()["value"]
    by_name = {x["LogicalName"]: x for x in rows}
    assert by_name["account"]["EntitySetName"] == "accounts" and "teammembership" not in by_name
    assert set(by_name["account"]) == {"LogicalName", "EntitySetName", "PrimaryIdAttribute", "MetadataId"}
    one = api.get("EntityDefinitions(LogicalName='contact')").json()
    assert one["PrimaryIdAttribute"] == "contactid" and "Attributes" not in one
    assert api.get(f"EntityDefinitions({one['MetadataId']})").json()["LogicalName"] == "contact"
    full = api.get("EntityDefinitions(LogicalName='contact')",
                   params={"$select": "LogicalName", "$expand": "Attributes($select=LogicalName,AttributeType),"
                           "ManyToOneRelationships,Keys"}).json()
    attrs = {a["LogicalName"]: a["AttributeType"] for a in full["Attributes"]}
    assert attrs["parentcustomerid"] == "Customer" and attrs["lastname"] == "String"
    m2o = {(x["ReferencingAttribute"], x["ReferencedEntity"]): x for x in full["ManyToOneRelationships"]}
    rel = m2o[("parentcustomerid", "account")]
    assert rel["ReferencingEntityNavigationPropertyName"] == "parentcustomerid_account"
    assert rel["SchemaName"] == "contact_customer_accounts"
    lookups = api.get("EntityDefinitions(LogicalName='contact')/Attributes/"
                      "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                      params={"$select": "LogicalName,Targets"}).json()["value"]
    assert {x["LogicalName"]: x["Targets"] for x in lookups}["parentcustomerid"] == ["account", "contact"]
    one_to_many = api.get("EntityDefinitions(LogicalName='account')/OneToManyRelationships").json()["value"]
    assert any(x["ReferencingEntity"] == "contact" and x["ReferencingAttribute"] == "parentcustomerid"
               for x in one_to_many)
    n2n = api.get("EntityDefinitions(LogicalName='team')/ManyToManyRelationships").json()["value"]
    assert n2n[0]["IntersectEntityName"] == "teammembership"
    keys = api.get("EntityDefinitions(LogicalName='account')/Keys").json()["value"]
    assert keys[0]["KeyAttributes"] == ["accountnumber"]
    name = api.get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')").json()
    assert name["MaxLength"] and name["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    states = api.get("EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM."
                     "StateAttributeMetadata", params={"$expand": "OptionSet"}).json()["value"]
    assert [o["Value"] for o in states[0]["OptionSet"]["Options"]] == [0, 1]
    assert api.get("EntityDefinitions(LogicalName='nope')").status_code == 404
    assert api.get("EntityDefinitions", params={"$select": "Nope"}).status_code == 400


def test_organizations_production_flag(start_emulator: object) -> None:
    for production in (False, True):
        url = start_emulator(production=production)  # type: ignore[operator]
        with api_client(url) as client:
            org = client.get("organizations").json()["value"][0]
            assert org["isproduction"] is production
            assert org["environmenttype"] == ("Production" if production else "Sandbox")
            detail = client.get("RetrieveCurrentOrganization(AccessType=@p)?@p=Microsoft.Dynamics.CRM."
                                "EndpointAccessType'Default'").json()["Detail"]
            assert detail["OrganizationType"] == ("Customer" if production else "CustomerTest")


def test_unknown_routes_are_dataverse_errors(api: httpx.Client) -> None:
    r = api.get("Account")
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found for the segment 'Account'."
    r = api.put("accounts", json={})
    assert r.status_code == 405 and "error" in r.json()


def test_serve_reports_its_url_and_stops() -> None:
    import threading

    from seeder.emulator import EmulatorConfig, serve

    ready: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(EmulatorConfig(),), kwargs={"on_ready": ready.append,
                                                                             "stop": stop})
    thread.start()
    try:
        for _ in range(100):
            if ready:
                break
            threading.Event().wait(0.05)
        assert ready and ready[0].startswith("http://127.0.0.1:")
        with api_client(ready[0]) as client:
            assert client.get("WhoAmI").status_code == 200
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
