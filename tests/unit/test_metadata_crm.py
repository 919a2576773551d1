"""The built-in CRM core schema: real names, the cycles and polymorphic lookups the restore plan relies on."""

from __future__ import annotations

from seeder.metadata import COMPONENT_TYPES, crm_core_schema, crm_status_states
from seeder.model import Schema

CORE = ("organization", "businessunit", "systemuser", "team", "transactioncurrency", "account", "contact", "lead",
        "opportunity", "activitypointer", "task", "phonecall", "email", "activityparty", "annotation")
COMPONENTS = ("solution", "solutioncomponent", "workflow", "connectionreference", "environmentvariabledefinition",
              "environmentvariablevalue", "canvasapp", "connector")


def test_all_tables_present_with_entity_sets() -> None:
    schema = crm_core_schema()
    for name in CORE + COMPONENTS:
        assert name in schema, name
    assert schema.table("opportunity").entity_set == "opportunities"
    assert schema.table("activityparty").entity_set == "activityparties"
    assert schema.table("transactioncurrency").entity_set == "transactioncurrencies"
    assert schema.by_entity_set("contacts") is schema.table("contact")
    assert all(t.primary_id for t in schema.tables)
    for name in ("task", "phonecall", "email", "activitypointer"):
        assert schema.table(name).primary_id == "activityid"


def test_account_contact_cycle_and_self_reference() -> None:
    schema = crm_core_schema()
    account, contact = schema.table("account"), schema.table("contact")
    primary = account.lookup("primarycontactid")
    assert primary is not None and primary.targets == ("contact",)
    assert primary.to[0].navigation_property == "primarycontactid"
    assert primary.to[0].relationship == "account_primary_contact"
    parent = account.lookup("parentaccountid")
    assert parent is not None and parent.targets == ("account",)
    customer = contact.lookup("parentcustomerid")
    assert customer is not None
    assert [(t.table, t.navigation_property) for t in customer.to] == [
        ("account", "parentcustomerid_account"), ("contact", "parentcustomerid_contact")]
    assert contact.column("parentcustomerid").type == "Customer"  # type: ignore[union-attr]


def test_polymorphic_lookups() -> None:
    schema = crm_core_schema()
    assert schema.table("opportunity").lookup("customerid").targets == ("account", "contact")  # type: ignore[union-attr]
    regarding = schema.table("task").lookup("regardingobjectid")
    assert regarding is not None and set(regarding.targets) == {"account", "contact", "lead", "opportunity"}
    assert regarding.target("account").navigation_property == "regardingobjectid_account_task"  # type: ignore[union-attr]
    assert schema.table("annotation").lookup("objectid").target("contact").navigation_property == "objectid_contact"  # type: ignore[union-attr]
    owner = schema.table("account").lookup("ownerid")
    assert owner is not None and owner.targets == ("systemuser", "team") and owner.required
    assert schema.table("account").column("ownerid").type == "Owner"  # type: ignore[union-attr]


def test_every_lookup_target_exists_and_columns_match() -> None:
    schema = crm_core_schema()
    for table in schema.tables:
        names = [c.name for c in table.columns]
        assert len(names) == len(set(names)), table.name
        for lookup in table.lookups:
            column = table.column(lookup.column)
            assert column is not None and column.is_lookup
            assert column.targets == lookup.targets
            for target in lookup.targets:
                assert target in schema, (table.name, lookup.column, target)
        for key in table.keys:
            assert all(table.column(c) is not None for c in key.columns), (table.name, key)


def test_formats_and_required_levels() -> None:
    schema = crm_core_schema()
    contact = schema.table("contact")
    assert contact.column("emailaddress1").format == "Email"  # type: ignore[union-attr]
    assert contact.column("telephone1").format == "Phone"  # type: ignore[union-attr]
    assert contact.column("lastname").required == "ApplicationRequired"  # type: ignore[union-attr]
    assert schema.table("account").column("websiteurl").format == "Url"  # type: ignore[union-attr]
    assert schema.table("systemuser").lookup("businessunitid").required  # type: ignore[union-attr]
    assert schema.table("workflow").column("clientdata").type == "Memo"  # type: ignore[union-attr]


def test_many_to_many_and_intersects() -> None:
    schema = crm_core_schema()
    rels = {r.name: r for r in schema.many_to_many}
    team = rels["teammembership_association"]
    assert (team.table1, team.table2, team.intersect_table) == ("systemuser", "team", "teammembership")
    assert schema.table("teammembership").is_intersect
    assert rels["accountleads_association"].intersect_table == "accountleads"


def test_states_and_statuses_pair_up() -> None:
    schema = crm_core_schema()
    for table in schema.tables:
        if not table.has_state:
            continue
        states = {v for v, _ in table.column("statecode").options}  # type: ignore[union-attr]
        pairs = crm_status_states(table.name)
        assert pairs and set(pairs.values()) == states, table.name
        assert {v for v, _ in table.column("statuscode").options} == set(pairs)  # type: ignore[union-attr]
    assert crm_status_states("opportunity")[3] == 1
    assert crm_status_states("nosuchtable") == {}


def test_component_types_and_roundtrip() -> None:
    assert COMPONENT_TYPES["workflow"] == 29 and COMPONENT_TYPES["canvasapp"] == 300
    schema = crm_core_schema()
    assert Schema.from_dict(schema.to_dict()) == schema
    assert crm_core_schema() is schema  # built once
