"""The demo organisation generator: determinism, referential integrity, shape, counts and personal data."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import islice

import pytest

from seeder.emulator.demo import demo_org, generate_demo
from seeder.metadata import crm_core_schema, crm_status_states
from seeder.model import LOOKUP_LOGICALNAME, Record, Schema

SCHEMA = crm_core_schema()


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, Record]]:
    return list(generate_demo(SCHEMA, seed=7, records=3000))


def ids_by_table(rows: list[tuple[str, Record]]) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for table, record in rows:
        ids[table].add(record[SCHEMA.table(table).primary_id])
    return ids


def test_same_seed_same_rows(rows: list[tuple[str, Record]]) -> None:
    assert list(generate_demo(SCHEMA, seed=7, records=3000)) == rows
    other = list(islice(generate_demo(SCHEMA, seed=8, records=3000), 200))
    assert other != rows[:200]


def test_reference_data_alone_and_stable() -> None:
    empty = list(generate_demo(SCHEMA, seed=7, records=0))
    assert {t for t, _ in empty} == {"organization", "transactioncurrency", "businessunit", "systemuser", "team",
                                    "teammembership", "mailbox"}
    assert Counter(t for t, _ in empty)["organization"] == 1
    # the same reference data leads every size of the same seed
    big = list(islice(generate_demo(SCHEMA, seed=7, records=500), len(empty)))
    assert big == empty
    assert list(generate_demo(SCHEMA, seed=7, records=0)) == empty
    org = demo_org(7, production=False)
    (org_row,) = [r for t, r in empty if t == "organization"]
    assert org.organization_id == org_row["organizationid"] and not org.is_production
    assert demo_org(7, production=True).is_production
    users = {r["systemuserid"] for t, r in empty if t == "systemuser"}
    assert org.user_id in users


def test_counts_close_to_requested(rows: list[tuple[str, Record]]) -> None:
    counts = Counter(t for t, _ in rows)
    reference = sum(counts[t] for t in ("organization", "transactioncurrency", "businessunit", "systemuser", "team",
                                        "teammembership"))
    assert abs((len(rows) - reference) - 3000) <= 30
    for table in ("account", "contact", "lead", "opportunity", "task", "phonecall", "email", "activityparty",
                  "annotation", "accountleads"):
        assert counts[table] > 0, table
    assert counts["activityparty"] == 2 * (counts["phonecall"] + counts["email"])


def test_every_lookup_points_at_a_generated_row(rows: list[tuple[str, Record]]) -> None:
    ids = ids_by_table(rows)
    checked = 0
    for table, record in rows:
        schema_table = SCHEMA.table(table)
        for key, value in record.items():
            if key.startswith("_") and key.endswith("_value"):
                target = record[key + LOOKUP_LOGICALNAME]
                column = key[1:-len("_value")]
                lookup = schema_table.lookup(column)
                assert lookup is not None and target in lookup.targets, (table, column, target)
                assert value in ids[target], (table, column, target)
                checked += 1
            elif key.endswith(LOOKUP_LOGICALNAME):
                assert key.removesuffix(LOOKUP_LOGICALNAME) in record
            else:
                assert schema_table.column(key) is not None, (table, key)
    assert checked > 10_000
    for relationship in SCHEMA.many_to_many:
        for table, record in rows:
            if table == relationship.intersect_table:
                assert record[relationship.column1] in ids[relationship.table1]
                assert record[relationship.column2] in ids[relationship.table2]


def test_primary_ids_unique_and_guid_shaped(rows: list[tuple[str, Record]]) -> None:
    guid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    seen: set[str] = set()
    for table, record in rows:
        row_id = record[SCHEMA.table(table).primary_id]
        assert guid.match(row_id)
        assert row_id not in seen
        seen.add(row_id)
    numbers = [r["accountnumber"] for t, r in rows if t == "account"]
    assert len(numbers) == len(set(numbers))  # accountnumber is an alternate key


def test_cycle_filled_both_ways_and_hierarchy(rows: list[tuple[str, Record]]) -> None:
    accounts = {r["accountid"]: r for t, r in rows if t == "account"}
    contacts = {r["contactid"]: r for t, r in rows if t == "contact"}
    with_primary = [a for a in accounts.values() if "_primarycontactid_value" in a]
    assert len(with_primary) > len(accounts) // 2
    for account in with_primary:
        contact = contacts[account["_primarycontactid_value"]]
        assert contact["_parentcustomerid_value"] == account["accountid"]
    assert any(c.get(f"_parentcustomerid_value{LOOKUP_LOGICALNAME}") == "contact" for c in contacts.values())
    # parent accounts come before their children in the stream
    order = {account_id: index for index, account_id in enumerate(accounts)}
    children = [a for a in accounts.values() if "_parentaccountid_value" in a]
    assert children
    assert all(order[a["_parentaccountid_value"]] < order[a["accountid"]] for a in children)
    # qualified leads point at the opportunity that points back at them
    leads = {r["leadid"]: r for t, r in rows if t == "lead"}
    opportunities = {r["opportunityid"]: r for t, r in rows if t == "opportunity"}
    qualified = [lead for lead in leads.values() if "_qualifyingopportunityid_value" in lead]
    assert qualified
    for lead in qualified:
        assert opportunities[lead["_qualifyingopportunityid_value"]]["_originatingleadid_value"] == lead["leadid"]


def test_states_and_inactive_rows(rows: list[tuple[str, Record]]) -> None:
    inactive: Counter[str] = Counter()
    for table, record in rows:
        if "statecode" in record:
            pairs = crm_status_states(table)
            assert pairs[record["statuscode"]] == record["statecode"], (table, record)
            inactive[table] += record["statecode"] != 0
    for table in ("account", "contact", "lead", "opportunity", "task", "email"):
        assert inactive[table] > 0, table


def test_activities_have_regarding_and_parties(rows: list[tuple[str, Record]]) -> None:
    activities = {r["activityid"]: (t, r) for t, r in rows if t in ("task", "phonecall", "email")}
    assert all("_regardingobjectid_value" in r for _, r in activities.values())
    targets = {r[f"_regardingobjectid_value{LOOKUP_LOGICALNAME}"] for _, r in activities.values()}
    assert targets == {"account", "contact", "lead", "opportunity"}
    parties = [r for t, r in rows if t == "activityparty"]
    for party in parties:
        table, _activity = activities[party["_activityid_value"]]
        assert party[f"_activityid_value{LOOKUP_LOGICALNAME}"] == table
    emails = [r for _, (t, r) in activities.items() if t == "email"]
    senders = {p["addressused"] for p in parties if p["participationtypemask"] == 1}
    assert all(e["sender"] in senders for e in emails)


def test_personal_data_present(rows: list[tuple[str, Record]]) -> None:
    email = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
    phone = re.compile(r"\+1 \d{3}-\d{3}-\d{4}")
    contacts = [r for t, r in rows if t == "contact"]
    assert all(email.fullmatch(c["emailaddress1"]) and phone.fullmatch(c["telephone1"]) for c in contacts)
    assert all(c["fullname"] == f"{c['firstname']} {c['lastname']}" for c in contacts)
    assert any(not c["fullname"].isascii() for c in contacts)  # accented names are present
    notes = [r["notetext"] for t, r in rows if t == "annotation"]
    assert notes and all(email.search(n) for n in notes)
    assert sum(bool(phone.search(n)) for n in notes) > len(notes) // 3
    assert len({c["fullname"] for c in contacts}) > len(contacts) // 2


def test_schema_filter_drops_missing_tables_and_columns() -> None:
    narrow = SCHEMA.select(["account", "contact", "systemuser", "businessunit", "team"])
    rows = list(generate_demo(narrow, seed=7, records=400))
    assert {t for t, _ in rows} == {"account", "contact", "systemuser", "businessunit", "team"}
    for table, record in rows:
        assert all(not k.endswith(f"_value{LOOKUP_LOGICALNAME}") or record[k] in narrow for k in record), table
        assert "_transactioncurrencyid_value" not in record
    assert list(generate_demo(Schema(), seed=7, records=100)) == []


def test_streams_lazily() -> None:
    stream = generate_demo(SCHEMA, seed=1, records=10_000_000)
    first = list(islice(stream, 50))
    assert len(first) == 50
