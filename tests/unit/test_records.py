"""Record helpers: cleaning, comparing, hashing, write bodies, and the bounded-memory row comparer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seeder.model import Column, Lookup, LookupTarget, Table
from seeder.records import RowComparer, clean_record, comparable, content_hash, write_body

CONTACT = Table(
    name="contact", entity_set="contacts", primary_id="contactid", primary_name="fullname",
    columns=(
        Column("contactid", "Uniqueidentifier", is_primary_id=True),
        Column("firstname", "String"),
        Column("fullname", "String", valid_for_create=False, valid_for_update=False),
        Column("parentcustomerid", "Customer", targets=("account", "contact")),
        Column("ownerid", "Owner", targets=("systemuser", "team")),
        Column("statecode", "State"),
        Column("statuscode", "Status"),
        Column("modifiedon", "DateTime", valid_for_create=False, valid_for_update=False),
    ),
    lookups=(
        Lookup("contact", "parentcustomerid", (LookupTarget("account", "parentcustomerid_account"),
                                               LookupTarget("contact", "parentcustomerid_contact"))),
        Lookup("contact", "ownerid", (LookupTarget("systemuser", "ownerid"), LookupTarget("team", "ownerid"))),
    ),
)
SETS = {"account": "accounts", "contact": "contacts", "systemuser": "systemusers", "team": "teams"}
ANN = "@Microsoft.Dynamics.CRM.lookuplogicalname"


def _row(i: int, name: str = "Ann") -> dict[str, object]:
    return {
        "contactid": f"00000000-0000-0000-0000-{i:012d}", "firstname": name, "fullname": f"{name} X",
        "_parentcustomerid_value": "10000000-0000-0000-0000-000000000001", f"_parentcustomerid_value{ANN}": "account",
        "_ownerid_value": "20000000-0000-0000-0000-000000000001", f"_ownerid_value{ANN}": "systemuser",
        "statecode": 1, "statuscode": 2, "modifiedon": "2026-01-01T00:00:00Z", "@odata.etag": 'W/"1"',
        "firstname@OData.Community.Display.V1.FormattedValue": name,
    }


def test_clean_keeps_lookup_targets_and_drops_bookkeeping() -> None:
    cleaned = clean_record(_row(1))
    assert "@odata.etag" not in cleaned
    assert not any("FormattedValue" in k for k in cleaned)
    assert cleaned[f"_parentcustomerid_value{ANN}"] == "account"


def test_write_body_binds_polymorphic_lookups_and_leaves_state_for_later() -> None:
    body, problems = write_body(CONTACT, _row(1), SETS)
    assert problems == []
    assert body == {
        "firstname": "Ann",
        "parentcustomerid_account@odata.bind": "/accounts(10000000-0000-0000-0000-000000000001)",
        "ownerid@odata.bind": "/systemusers(20000000-0000-0000-0000-000000000001)",
    }
    deferred, _ = write_body(CONTACT, _row(1), SETS, skip_lookups=["parentcustomerid"], include_state=True)
    assert "parentcustomerid_account@odata.bind" not in deferred
    assert deferred["statecode"] == 1 and deferred["statuscode"] == 2


def test_write_body_remaps_reference_ids_and_reports_unbindable_targets() -> None:
    row = _row(1)
    body, _ = write_body(CONTACT, row, SETS, remap={"20000000-0000-0000-0000-000000000001": "abc"})
    assert body["ownerid@odata.bind"] == "/systemusers(abc)"
    row[f"_parentcustomerid_value{ANN}"] = "lead"
    body, problems = write_body(CONTACT, row, SETS)
    assert "parentcustomerid_account@odata.bind" not in body
    assert problems == ["contact.parentcustomerid: target table lead cannot be bound"]


def test_comparable_ignores_system_columns_and_case_of_ids() -> None:
    a = clean_record(_row(1))
    upper = "10000000-0000-0000-0000-000000000001".upper()
    b = dict(a, modifiedon="2027-01-01T00:00:00Z", _parentcustomerid_value=upper)
    assert comparable(CONTACT, a) == comparable(CONTACT, b)
    assert comparable(CONTACT, a) != comparable(CONTACT, dict(a, firstname="Bob"))


@given(st.lists(st.integers(min_value=0, max_value=10_000), unique=True, max_size=30), st.randoms())
def test_content_hash_is_order_independent(ids: list[int], rnd: object) -> None:
    rows = [_row(i) for i in ids]
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert content_hash(CONTACT, rows) == content_hash(CONTACT, shuffled)


def test_row_comparer_counts_added_changed_deleted() -> None:
    left = [_row(i) for i in range(10)]
    right = [_row(i) for i in range(2, 12)]
    right[0] = _row(2, name="Changed")
    with RowComparer() as cmp:
        result = cmp.compare(CONTACT, left, right, keep_ids=True)
        assert (result.added, result.changed, result.deleted, result.unchanged) == (2, 1, 2, 7)
        assert result.added_ids == [f"00000000-0000-0000-0000-{i:012d}" for i in (10, 11)]
        only = cmp.compare(CONTACT, left[:3], right, only_left_ids=True)
        assert (only.added, only.deleted, only.changed) == (0, 2, 1)
