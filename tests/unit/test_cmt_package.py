"""CMT package I/O: zip safety, hardened XML, BOMs, data_schema.xml/data.xml round trips, record mapping."""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seeder.cmt import (
    CONTENT_TYPES,
    CmtDataField,
    CmtEntity,
    CmtEntityStart,
    CmtField,
    CmtIssue,
    CmtLinks,
    CmtPackageReader,
    CmtRecord,
    CmtRelationship,
    CmtSchema,
    DataXmlWriter,
    iter_data,
    parse_schema,
    record_from_cmt,
    record_to_cmt,
    schema_from_cmt_schema,
    write_package,
    write_schema,
)
from seeder.cmt.values import html_decode, html_encode, xml_compatible
from seeder.errors import SafetyError, UsageError

SCHEMA = b"""<entities >
  <entity name="new_node" displayname="Node" etc="10001" primaryidfield="new_nodeid"
          primarynamefield="new_name" disableplugins="false">
    <fields>
      <field displayname="Node" name="new_nodeid" type="guid" primaryKey="true" />
      <field displayname="Name" name="new_name" type="string" customfield="true" />
      <field displayname="Parent" name="new_parentid" type="entityreference" lookupType="new_node" customfield="true" />
      <field displayname="Customer" name="new_customer" type="entityreference" lookupType="account|contact" />
      <field displayname="Owner" name="ownerid" type="owner" />
      <field displayname="To" name="to" type="partylist" />
      <field displayname="Picture" name="new_picture" type="imagedata" />
      <field displayname="Odd" name="new_odd" type="hologram" />
    </fields>
    <relationships>
      <relationship name="new_node_node" manyToMany="true" isreflexive="true" relatedEntityName="new_node_node"
                    m2mTargetEntity="new_node" m2mTargetEntityPrimaryKey="new_nodeid" />
    </relationships>
  </entity>
</entities>
"""

N1 = "11111111-1111-1111-1111-111111111111"
N2 = "22222222-2222-2222-2222-222222222222"


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../evil.xml", "a/../../evil.xml", "/etc/passwd", "C:/x.xml", "..\\evil.xml"])
def test_zip_slip_entries_are_refused(tmp_path: Path, name: str) -> None:
    pkg = _zip(tmp_path / "p.zip", {"data_schema.xml": SCHEMA, name: b"x"})
    with pytest.raises(SafetyError):
        CmtPackageReader(pkg)


def test_oversized_entry_is_refused_before_reading(tmp_path: Path) -> None:
    pkg = _zip(tmp_path / "p.zip", {"data_schema.xml": SCHEMA, "data.xml": b"<entities/>" + b" " * 5000})
    with pytest.raises(SafetyError, match="limit"):
        CmtPackageReader(pkg, max_entry_bytes=4096)


def test_zip_bomb_ratio_is_refused(tmp_path: Path) -> None:
    pkg = _zip(tmp_path / "p.zip", {"data_schema.xml": SCHEMA, "data.xml": b"\0" * (8 * 1024 * 1024)})
    with pytest.raises(SafetyError, match="zip bomb"):
        CmtPackageReader(pkg)


def test_folder_entry_over_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data_schema.xml").write_bytes(SCHEMA)
    with CmtPackageReader(tmp_path, max_entry_bytes=100) as pkg, pytest.raises(SafetyError):
        pkg.read("data_schema.xml")


def test_not_a_package(tmp_path: Path) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(UsageError):
        CmtPackageReader(bad)
    with pytest.raises(UsageError, match=r"data_schema\.xml"):
        CmtPackageReader(_zip(tmp_path / "y.zip", {"data.xml": b"<entities/>"}))


def test_entities_and_dtds_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doctype = f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
    in_text = (
        doctype + '<entities><entity name="a" primaryidfield="aid"><fields>'
        '<field name="aid" type="guid"/></fields><filter>&x;</filter></entity></entities>'
    ).encode()
    schema = parse_schema(in_text)
    assert "TOPSECRET" not in repr(schema)
    in_attribute = (
        doctype + '<entities><entity name="a" primaryidfield="aid"><fields>'
        '<field name="aid" type="guid" displayname="&x;"/></fields></entity></entities>'
    ).encode()
    with pytest.raises(UsageError, match="external entity"):
        parse_schema(in_attribute)
    with pytest.raises(UsageError):
        parse_schema(b"<entities><entity")


def test_byte_order_marks_are_accepted() -> None:
    plain = parse_schema(SCHEMA)
    assert parse_schema(b"\xef\xbb\xbf" + SCHEMA) == plain
    utf16 = '<?xml version="1.0" encoding="utf-16"?>'.encode("utf-16") + SCHEMA.decode().encode("utf-16")[2:]
    assert parse_schema(utf16) == plain


def test_schema_reads_types_lookups_keys_and_relationships() -> None:
    cmt = parse_schema(SCHEMA)
    node = cmt.entity("new_node")
    assert node is not None and node.etc == 10001 and node.primary_name == "new_name"
    assert node.field("new_nodeid") == CmtField("new_nodeid", "guid", "Node", primary_key=True)
    assert node.field("new_customer").lookup_types == ("account", "contact")  # type: ignore[union-attr]
    assert node.relationships == (CmtRelationship("new_node_node", "new_node_node", "new_node", "new_nodeid", True),)
    schema = schema_from_cmt_schema(cmt)
    table = schema.table("new_node")
    assert table.column("new_customer").type == "Customer"  # type: ignore[union-attr]
    assert table.column("ownerid").targets == ("systemuser", "team")  # type: ignore[union-attr]
    assert table.column("new_odd").type == "Virtual"  # type: ignore[union-attr]
    assert table.lookup("new_parentid").targets == ("new_node",)  # type: ignore[union-attr]
    (rel,) = schema.many_to_many
    assert (rel.table1, rel.table2) == ("new_node", "new_node")
    assert (rel.column1, rel.column2) == ("new_nodeidone", "new_nodeidtwo")
    assert schema.table("new_node_node").is_intersect


def test_schema_writer_round_trips() -> None:
    cmt = parse_schema(SCHEMA)
    assert parse_schema(write_schema(cmt)) == cmt


def _write_data(entities: list[tuple[str, list[CmtRecord], list[CmtLinks]]]) -> bytes:
    buf = io.BytesIO()
    with DataXmlWriter(buf, timestamp="2026-01-01T00:00:00Z") as w:
        for name, records, links in entities:
            w.begin_entity(name, name.title())
            for r in records:
                w.write_record(r)
            for link in links:
                w.write_links(link)
    return buf.getvalue()


def test_data_xml_round_trips_escaping_newlines_and_links() -> None:
    nasty = 'Root &lt;&quot;&quot;&gt; &#39;é&amp;amp; \\ /\r\nline2\ttab ]]> <![CDATA['
    records = [
        CmtRecord(N1, (CmtDataField("new_name", nasty), CmtDataField("new_parentid", N2, "new_node", 'a"<&>\n'))),
        CmtRecord(N2, ()),
    ]
    links = [CmtLinks("new_node_node", N1, "new_node", "new_nodeid", (N2, N1))]
    data = _write_data([("new_node", records, links), ("empty", [], [])])
    assert data.startswith(b"\xef\xbb\xbf<?xml")
    items = list(iter_data(io.BytesIO(data)))
    assert items == [
        ("new_node", CmtEntityStart("new_node", "New_Node")),
        ("new_node", records[0]),
        ("new_node", records[1]),
        ("new_node", links[0]),
        ("empty", CmtEntityStart("empty", "Empty")),
    ]


def test_party_list_fields_are_flagged() -> None:
    data = (
        b'<entities><entity name="email"><records><record id="' + N1.encode() + b'">'
        b'<field name="to" value=""><activitypointerrecords id="' + N2.encode() + b'">'
        b'<field name="partyid" value="' + N2.encode() + b'" lookupentity="contact"/>'
        b"</activitypointerrecords></field></record></records><m2mrelationships/></entity></entities>"
    )
    (_, _start), (_, rec) = list(iter_data(io.BytesIO(data)))
    assert isinstance(rec, CmtRecord) and rec.fields[0].has_parties


def test_record_mapping_reports_everything_it_cannot_carry() -> None:
    cmt = parse_schema(SCHEMA)
    node = cmt.entity("new_node")
    assert node is not None
    rec = CmtRecord(
        N1.upper(),
        (
            CmtDataField("new_nodeid", N1),
            CmtDataField("new_name", "A &amp; B"),
            CmtDataField("new_parentid", N2, "new_node", "Parent"),
            CmtDataField("new_customer", N2, None, None),  # polymorphic, no lookupentity: cannot be placed
            CmtDataField("ownerid", N2, None, None),  # owner: systemuser|team, cannot be placed either
            CmtDataField("to", "", has_parties=True),
            CmtDataField("new_picture", "iVBORw0KGgo="),
            CmtDataField("new_odd", "?"),
            CmtDataField("new_ghost", "boo"),
        ),
    )
    dropped: list[CmtIssue] = []
    warnings: list[CmtIssue] = []
    record = record_from_cmt(node, rec, dropped, warnings)
    assert record == {
        "new_nodeid": N1,
        "new_name": "A & B",
        "_new_parentid_value": N2,
        "_new_parentid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "new_node",
        "_new_parentid_value@OData.Community.Display.V1.FormattedValue": "Parent",
    }
    assert sorted((d.column, d.record_id) for d in dropped) == sorted(
        (c, N1) for c in ("new_customer", "ownerid", "to", "new_picture", "new_odd", "new_ghost")
    )
    assert warnings == []

    back_dropped: list[CmtIssue] = []
    nameless: Counter[tuple[str, str]] = Counter()
    extra = {**record, "new_unknown": 5, "_ownerid_value": N2}  # owner without target annotation
    out = record_to_cmt(node, extra, back_dropped, nameless)
    assert out is not None
    assert {f.name: f.value for f in out.fields} == {"new_name": "A &amp; B", "new_nodeid": N1, "new_parentid": N2}
    assert sorted(d.column for d in back_dropped) == ["new_unknown", "ownerid"]


def test_lookup_without_lookupentity_uses_a_single_lookup_type_with_a_warning() -> None:
    node = parse_schema(SCHEMA).entity("new_node")
    assert node is not None
    dropped: list[CmtIssue] = []
    warnings: list[CmtIssue] = []
    record = record_from_cmt(node, CmtRecord(N1, (CmtDataField("new_parentid", N2),)), dropped, warnings)
    assert record is not None and record["_new_parentid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "new_node"
    assert [w.column for w in warnings] == ["new_parentid"] and dropped == []


def test_bad_record_id_and_bad_values_are_dropped_not_guessed() -> None:
    node = CmtEntity("t", "tid", fields=(CmtField("tid", "guid", primary_key=True), CmtField("n", "number")))
    dropped: list[CmtIssue] = []
    assert record_from_cmt(node, CmtRecord("nope", ()), dropped, []) is None
    record = record_from_cmt(node, CmtRecord(N1, (CmtDataField("n", "12.5"),)), dropped, [])
    assert record == {"tid": N1}
    assert [(d.column, d.record_id) for d in dropped] == [("tid", "nope"), ("n", N1)]


def test_written_package_has_the_cmt_layout(tmp_path: Path) -> None:
    cmt = CmtSchema((CmtEntity("t", "tid", "n", "T", fields=(CmtField("tid", "guid", "Id", primary_key=True),)),))
    out = tmp_path / "pkg.zip"
    with write_package(out, write_schema(cmt)) as stream, DataXmlWriter(stream, timestamp="x") as xml:
        xml.begin_entity("t", "T")
        xml.write_record(CmtRecord(N1, (CmtDataField("tid", N1),)))
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["[Content_Types].xml", "data.xml", "data_schema.xml"]
        assert zf.read("[Content_Types].xml") == CONTENT_TYPES
    assert not (tmp_path / "pkg.zip.partial").exists()
    with CmtPackageReader(out) as pkg:
        assert pkg.has_content_types
        assert parse_schema(pkg.read("data_schema.xml")) == cmt
        with pkg.open("data.xml") as stream:
            assert [i for _, i in iter_data(stream)][1] == CmtRecord(N1, (CmtDataField("tid", N1),))


def test_failed_write_leaves_no_package(tmp_path: Path) -> None:
    out = tmp_path / "pkg.zip"
    with pytest.raises(RuntimeError), write_package(out, b"<entities/>"):
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data", [b"<root><entity name='x'/></root>", b"<root/>", b"<entities><entity", b""])
def test_data_xml_that_is_not_cmt_is_an_error(data: bytes) -> None:
    with pytest.raises(UsageError):
        list(iter_data(io.BytesIO(data)))


@given(st.text().filter(xml_compatible), st.text().filter(xml_compatible))
def test_any_xml_text_survives_data_xml(value: str, name: str) -> None:
    record = CmtRecord(N1, (CmtDataField("new_name", html_encode(value)), CmtDataField("p", N2, "t", name)))
    items = list(iter_data(io.BytesIO(_write_data([("t", [record], [])]))))
    assert items[1] == ("t", record)
    assert html_decode(items[1][1].fields[0].value or "") == value  # type: ignore[union-attr]
