"""EntityDefinitions documents → model.Schema (types, formats, polymorphic lookups, N:N, keys)."""

from __future__ import annotations

import re

import httpx

from seeder.dataverse import AuthConfig, Environment
from seeder.dataverse.metadata import table_from_documents

URL = "https://contoso.crm.dynamics.com"


def label(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}], "UserLocalizedLabel": {"Label": text}}


def attr(name: str, kind: str, **extra) -> dict:
    return {"LogicalName": name, "AttributeType": kind, "RequiredLevel": {"Value": extra.pop("req", "None")},
            "AttributeOf": extra.pop("of", None), "IsValidForCreate": True, "IsValidForUpdate": True, **extra}


ENTITIES = {
    "account": {"LogicalName": "account", "EntitySetName": "accounts", "PrimaryIdAttribute": "accountid",
                "PrimaryNameAttribute": "name", "ObjectTypeCode": 1, "IsIntersect": False,
                "IsCustomEntity": False, "OwnershipType": "UserOwned", "ChangeTrackingEnabled": True,
                "DisplayName": label("Account")},
    "contact": {"LogicalName": "contact", "EntitySetName": "contacts", "PrimaryIdAttribute": "contactid",
                "PrimaryNameAttribute": "fullname", "ObjectTypeCode": 2, "IsIntersect": False,
                "IsCustomEntity": False, "OwnershipType": "UserOwned", "ChangeTrackingEnabled": False},
}
ATTRS = {
    "account": [
        attr("accountid", "Uniqueidentifier", IsPrimaryId=True, req="SystemRequired"),
        attr("name", "String", IsPrimaryName=True, req="ApplicationRequired", MaxLength=160,
             FormatName={"Value": "Text"}, DisplayName=label("Account Name")),
        attr("emailaddress1", "String", MaxLength=100, FormatName={"Value": "Email"}),
        attr("primarycontactid", "Lookup", Targets=["contact"]),
        attr("primarycontactidname", "String", of="primarycontactid"),
        attr("ownerid", "Owner", Targets=["systemuser", "team"], req="SystemRequired"),
        attr("statecode", "State", OptionSet={"Options": [{"Value": 0, "Label": label("Active")},
                                                          {"Value": 1, "Label": label("Inactive")}]}),
        attr("new_tags", "Virtual", AttributeTypeName={"Value": "MultiSelectPicklistType"}),
    ],
    "contact": [
        attr("contactid", "Uniqueidentifier", IsPrimaryId=True),
        attr("telephone1", "String"),  # FormatName only via the typed cast below
        attr("parentcustomerid", "Customer"),  # Targets only via the typed cast below
        attr("birthdate", "DateTime", Format="DateOnly"),
    ],
}
CASTS = {
    ("contact", "LookupAttributeMetadata"): [{"LogicalName": "parentcustomerid", "Targets": ["account", "contact"]}],
    ("contact", "StringAttributeMetadata"): [{"LogicalName": "telephone1", "FormatName": {"Value": "Phone"},
                                              "MaxLength": 50}],
}
M2O = {
    "account": [
        {"SchemaName": "account_primary_contact", "ReferencedEntity": "contact", "ReferencingEntity": "account",
         "ReferencingAttribute": "primarycontactid", "ReferencingEntityNavigationPropertyName": "primarycontactid"},
        {"SchemaName": "owner_accounts", "ReferencedEntity": "principal", "ReferencingEntity": "account",
         "ReferencingAttribute": "ownerid", "ReferencingEntityNavigationPropertyName": "ownerid"},
    ],
    "contact": [
        {"SchemaName": "contact_customer_accounts", "ReferencedEntity": "account", "ReferencingEntity": "contact",
         "ReferencingAttribute": "parentcustomerid",
         "ReferencingEntityNavigationPropertyName": "parentcustomerid_account"},
        {"SchemaName": "contact_customer_contacts", "ReferencedEntity": "contact", "ReferencingEntity": "contact",
         "ReferencingAttribute": "parentcustomerid",
         "ReferencingEntityNavigationPropertyName": "parentcustomerid_contact"},
    ],
}
N2N = [{"SchemaName": "accountcontact_assoc", "Entity1LogicalName": "account", "Entity2LogicalName": "contact",
        "IntersectEntityName": "accountcontact", "Entity1IntersectAttribute": "accountid",
        "Entity2IntersectAttribute": "contactid", "Entity1NavigationPropertyName": "accountcontact_assoc",
        "Entity2NavigationPropertyName": "accountcontact_assoc"},
       {"SchemaName": "account_lead", "Entity1LogicalName": "account", "Entity2LogicalName": "lead",
        "IntersectEntityName": "accountleads", "Entity1IntersectAttribute": "accountid",
        "Entity2IntersectAttribute": "leadid"}]
KEYS = {"account": [{"SchemaName": "account_number_key", "KeyAttributes": ["accountnumber"],
                     "EntityKeyIndexStatus": "Active"},
                    {"SchemaName": "pending_key", "KeyAttributes": ["name"], "EntityKeyIndexStatus": "Pending"}],
        "contact": []}


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path.split("/api/data/v9.2/")[1]
    if path == "WhoAmI":
        return httpx.Response(200, json={"UserId": "u"})
    if path == "EntityDefinitions":
        assert "EntitySetName" in request.url.params["$select"]
        return httpx.Response(200, json={"value": list(ENTITIES.values())})
    m = re.fullmatch(r"EntityDefinitions\(LogicalName='(\w+)'\)/(\w+)(?:/Microsoft\.Dynamics\.CRM\.(\w+))?", path)
    name, sub, cast = m.groups()
    if cast:
        return httpx.Response(200, json={"value": CASTS.get((name, cast), [])})
    docs = {"Attributes": ATTRS, "ManyToOneRelationships": M2O, "Keys": KEYS}
    if sub == "ManyToManyRelationships":
        return httpx.Response(200, json={"value": N2N})
    return httpx.Response(200, json={"value": docs[sub][name]})


def test_schema_from_entity_definitions():
    with Environment.connect(URL, AuthConfig(), transport=httpx.MockTransport(handler)) as env:
        schema = env.schema()
        assert env.table_ref("contact").entity_set == "contacts"  # registered, no extra request
    account, contact = schema.table("account"), schema.table("contact")
    assert (account.entity_set, account.primary_id, account.primary_name) == ("accounts", "accountid", "name")
    assert account.display_name == "Account" and account.object_type_code == 1
    assert not contact.change_tracking
    assert account.column("primarycontactidname") is None  # shadow column dropped
    name = account.column("name")
    assert name.required == "ApplicationRequired" and name.is_required and name.max_length == 160
    assert name.display_name == "Account Name"
    assert account.column("emailaddress1").format == "Email"
    assert contact.column("telephone1").format == "Phone" and contact.column("telephone1").max_length == 50
    assert contact.column("birthdate").format == "DateOnly"
    assert account.column("new_tags").type == "MultiSelectPicklist"
    assert account.column("statecode").options == ((0, "Active"), (1, "Inactive"))
    customer = contact.lookup("parentcustomerid")
    assert customer.targets == ("account", "contact")
    assert customer.target("account").navigation_property == "parentcustomerid_account"
    assert customer.target("contact").relationship == "contact_customer_contacts"
    owner = account.lookup("ownerid")
    assert owner.targets == ("systemuser", "team") and owner.required
    assert [t.navigation_property for t in owner.to] == ["ownerid", "ownerid"]  # documented owner binding
    assert account.lookup("primarycontactid").to[0].navigation_property == "primarycontactid"
    assert [k.name for k in account.keys] == ["account_number_key"]
    assert [r.name for r in schema.many_to_many] == ["accountcontact_assoc"]  # lead not in the schema
    assert schema.to_dict() == type(schema).from_dict(schema.to_dict()).to_dict()


def test_table_from_documents_tolerates_minimal_documents():
    t = table_from_documents({"LogicalName": "x_thing"}, [{"LogicalName": "x_thingid",
                                                           "AttributeType": "Uniqueidentifier"}], [], [])
    assert (t.entity_set, t.primary_id, t.columns[0].required) == ("x_things", "x_thingid", "None")
