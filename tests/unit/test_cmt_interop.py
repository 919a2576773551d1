"""cmt_export / cmt_import over a snapshot shaped like a Dataverse export (not one that came from CMT)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from seeder.errors import SafetyError, UsageError
from seeder.interop import cmt_export, cmt_import, link_id
from seeder.model import Column, Lookup, LookupTarget, ManyToMany, Record, Schema, Table
from seeder.snapshot import Snapshot, SnapshotWriter

A1 = "a0000000-0000-0000-0000-000000000001"
A2 = "a0000000-0000-0000-0000-000000000002"
A3 = "a0000000-0000-0000-0000-000000000003"
C1 = "c0000000-0000-0000-0000-000000000001"
C2 = "c0000000-0000-0000-0000-000000000002"
U1 = "e0000000-0000-0000-0000-000000000001"
LN = "@Microsoft.Dynamics.CRM.lookuplogicalname"

ACCOUNT = Table(
    name="account",
    entity_set="accounts",
    primary_id="accountid",
    primary_name="name",
    columns=(
        Column("accountid", "Uniqueidentifier", is_primary_id=True),
        Column("name", "String", is_primary_name=True, display_name="Account Name"),
        Column("description", "Memo"),
        Column("parentaccountid", "Lookup", targets=("account",)),
        Column("primarycontactid", "Lookup", targets=("contact",)),
        Column("ownerid", "Owner", targets=("systemuser", "team")),
        Column("revenue", "Money"),
        Column("openedon", "DateTime", format="DateOnly"),
        Column("entityimage", "Image"),
        Column("yominame", "Virtual"),
        Column("industrycode", "Picklist"),
        Column("donotemail", "Boolean"),
    ),
    lookups=(
        Lookup("account", "parentaccountid", (LookupTarget("account", "parentaccountid"),)),
        Lookup("account", "primarycontactid", (LookupTarget("contact", "primarycontactid"),)),
        Lookup("account", "ownerid", (LookupTarget("systemuser", "ownerid"), LookupTarget("team", "ownerid"))),
    ),
    object_type_code=1,
)
CONTACT = Table(
    name="contact",
    entity_set="contacts",
    primary_id="contactid",
    primary_name="fullname",
    columns=(Column("contactid", "Uniqueidentifier", is_primary_id=True), Column("fullname", "String")),
)
PARTNERS = Table(
    name="new_account_account",
    entity_set="new_account_accountset",
    primary_id="new_account_accountid",
    columns=(
        Column("new_account_accountid", "Uniqueidentifier", is_primary_id=True),
        Column("accountidone", "Uniqueidentifier"),
        Column("accountidtwo", "Uniqueidentifier"),
    ),
    is_intersect=True,
)
SCHEMA = Schema(
    tables=(ACCOUNT, CONTACT, PARTNERS),
    many_to_many=(
        ManyToMany("new_account_account", "account", "account", "new_account_account", "accountidone", "accountidtwo"),
    ),
)


def _account(i: str, **extra: object) -> Record:
    return {"accountid": i, "name": f"acc {i[-1]}", "_ownerid_value": U1, f"_ownerid_value{LN}": "systemuser", **extra}


def _snapshot(path: Path) -> Path:
    with SnapshotWriter(path, schema=SCHEMA, source=None) as w:
        w.write_table(
            "account",
            [
                _account(A2, _parentaccountid_value=A1, **{f"_parentaccountid_value{LN}": "account"}),
                _account(
                    A1,
                    description='multi\nline <b>"quoted"</b> & \'single\' ü ∑ \U0001f600',
                    revenue=1234.5,
                    openedon="2024-02-29",
                    industrycode=3,
                    donotemail=False,
                    entityimage="iVBORw0KGgo=",
                    _primarycontactid_value=C1,
                    **{f"_primarycontactid_value{LN}": "contact"},
                ),
                _account(A3, _parentaccountid_value=A3, **{f"_parentaccountid_value{LN}": "account"}),
            ],
        )
        w.write_table(
            "contact",
            [{"contactid": C1, "fullname": "Ann <Admin>"}, {"contactid": C2, "fullname": "bell\x07"}],
        )
        w.write_table(
            "new_account_account",
            [
                {"new_account_accountid": link_id("x", A1, A2), "accountidone": A1, "accountidtwo": A2},
                {"new_account_accountid": link_id("x", A2, A3), "accountidone": A2, "accountidtwo": A3},
            ],
        )
    return path


def test_export_of_a_dataverse_shaped_snapshot_reports_what_it_cannot_carry(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []
    report = cmt_export(_snapshot(tmp_path / "s"), tmp_path / "p.zip", progress=lambda t, n: seen.append((t, n)))
    assert seen == [("account", 3), ("contact", 2)]
    assert report.tables == {"account": 3, "contact": 2}
    assert report.n2n == {"new_account_account": 2}
    assert [(d.table, d.column, d.record_id) for d in report.dropped] == [
        ("account", "entityimage", A1),
        ("contact", "fullname", C2),  # a control character XML cannot hold: reported, not corrupted
    ]
    columns = {(w.table, w.column) for w in report.warnings}
    assert {("account", "entityimage"), ("account", "yominame")} <= columns
    # owner names are not in the snapshot: written empty, and said so
    assert any(w.column == "ownerid" and "empty lookupentityname" in w.reason for w in report.warnings)
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        data = zf.read("data.xml").decode("utf-8-sig")
        schema = zf.read("data_schema.xml").decode()
    assert 'lookupentity="contact" lookupentityname="Ann &lt;Admin&gt;"' in data  # name from the snapshot
    assert 'lookupentityname="acc 1"' in data
    assert 'isreflexive="true"' in schema and 'm2mTargetEntityPrimaryKey="accountid"' in schema
    assert 'name="parentaccountid" type="entityreference" lookupType="account"' in schema
    assert 'name="accountid" type="guid" primaryKey="true"' in schema
    assert 'name="description" type="string"' in schema and "yominame" not in schema and "entityimage" not in schema


def test_round_trip_keeps_self_references_reflexive_links_and_text(tmp_path: Path) -> None:
    cmt_export(_snapshot(tmp_path / "s"), tmp_path / "p.zip")
    report = cmt_import(tmp_path / "p.zip", tmp_path / "t")
    assert report.dropped == ()
    assert report.tables["contact"] == 2
    assert report.n2n == {"new_account_account": 2}
    before = {r["accountid"]: r for r in Snapshot.open(tmp_path / "s").records("account")}
    after = {r["accountid"]: r for r in Snapshot.open(tmp_path / "t").records("account")}
    for account_id, original in before.items():
        carried = {k: v for k, v in original.items() if k != "entityimage"}
        got = {k: v for k, v in after[account_id].items() if not k.endswith("FormattedValue")}
        assert got == carried
    assert after[A3]["_parentaccountid_value"] == A3
    rows = Snapshot.open(tmp_path / "t").records("new_account_account")
    links = sorted((r["accountidone"], r["accountidtwo"]) for r in rows)
    assert links == [(A1, A2), (A2, A3)]


def test_import_warns_about_lookups_to_records_missing_from_the_package(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "data_schema.xml").write_text(
        '<entities><entity name="t" primaryidfield="tid" primarynamefield="n"><fields>'
        '<field name="tid" type="guid" primaryKey="true"/><field name="n" type="string"/>'
        '<field name="p" type="entityreference" lookupType="t"/></fields></entity></entities>'
    )
    (pkg / "data.xml").write_bytes(
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><entities><entity name="t"><records>'
        b'<record id="' + A1.encode() + b'"><field name="p" value="' + A2.encode() + b'" lookupentity="t"/></record>'
        b'<record id="' + A1.encode() + b'"/>'
        b'</records></entity><entity name="ghost"><records><record id="' + A3.encode() + b'"/></records></entity>'
        b"</entities>"
    )
    report = cmt_import(pkg, tmp_path / "s")
    assert report.tables == {"t": 1}
    assert [(w.table, w.column, w.record_id) for w in report.warnings] == [("t", "p", A1)]
    assert sorted((d.table, d.record_id, d.reason.split(":")[0]) for d in report.dropped) == [
        ("ghost", A3, "entity is not declared in data_schema.xml"),
        ("t", A1, "duplicate record id"),
    ]
    assert report.to_dict()["ok"] is False


def test_import_refuses_unsafe_or_schema_only_packages(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("data_schema.xml", "<entities/>")
        zf.writestr("data.xml", "<entities/>")
        zf.writestr("../../outside.txt", "x")
    with pytest.raises(SafetyError):
        cmt_import(evil, tmp_path / "s")
    assert not (tmp_path / "s").exists()
    schema_only = tmp_path / "schema-only.zip"
    with zipfile.ZipFile(schema_only, "w") as zf:
        zf.writestr("data_schema.xml", "<entities/>")
    with pytest.raises(UsageError, match=r"no data\.xml"):
        cmt_import(schema_only, tmp_path / "s")


def test_export_never_overwrites_by_accident(tmp_path: Path) -> None:
    _snapshot(tmp_path / "s")
    (tmp_path / "p.zip").write_bytes(b"keep me")
    with pytest.raises(UsageError, match="already exists"):
        cmt_export(tmp_path / "s", tmp_path / "p.zip")
    assert (tmp_path / "p.zip").read_bytes() == b"keep me"
    assert cmt_export(tmp_path / "s", tmp_path / "p.zip", overwrite=True).tables["account"] == 3
