"""CMT round trips on the real packages of the corpus: package → snapshot → package → snapshot.

Every real data package (zip or unpacked folder with ``data_schema.xml`` + ``data.xml``) is imported,
exported and re-imported; the two snapshots must hold the same records value for value (lookups,
self-references, N:N links, strings with XML/HTML special characters and non-ASCII), and the counts must
equal what the original ``data.xml`` holds. Schema-only files round-trip through ``data_schema.xml``.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from seeder.cmt import CmtPackageReader, cmt_schema_from_schema, parse_schema, schema_from_cmt_schema, write_schema
from seeder.interop import cmt_export, cmt_import
from seeder.model import LOOKUP_LOGICALNAME
from seeder.snapshot import Snapshot
from seeder.snapshot.verify import verify

AUTOMATION_KIT = (
    "automation-kit/AutomationKIT_Packages/Source/AutomationKITPackage_Main/PkgAssets/AutomationKit-SampleData.zip"
)
DOTNETPROG = "dotnetprog-cmt/data"


def _data_packages(corpus: Path) -> list[Path]:
    found = []
    for z in sorted(corpus.rglob("*.zip")):
        with zipfile.ZipFile(z) as zf:
            names = {n.lower() for n in zf.namelist()}
        if {"data_schema.xml", "data.xml"} <= names:
            found.append(z)
    found += sorted(p.parent for p in corpus.rglob("data_schema.xml") if (p.parent / "data.xml").is_file())
    return found


def _raw_counts(package: Path) -> tuple[Counter[str], Counter[str]]:
    """Records per entity and links per relationship, counted straight from data.xml with plain lxml."""
    with CmtPackageReader(package) as pkg:
        root = etree.fromstring(pkg.read("data.xml"), etree.XMLParser(resolve_entities=False, no_network=True))
    records: Counter[str] = Counter()
    links: Counter[str] = Counter()
    for entity in root.iter("entity"):
        records[entity.get("name")] += len(entity.findall("records/record"))
        for m2m in entity.iter("m2mrelationship"):
            links[m2m.get("m2mrelationshipname")] += len(m2m.findall("targetids/targetid"))
    return records, links


def _all_records(path: Path) -> dict[str, list[dict[str, object]]]:
    snap = Snapshot.open(path)
    return {t: list(snap.records(t)) for t in snap.tables}


def test_corpus_has_the_expected_cmt_packages(corpus: Path) -> None:
    found = {p.relative_to(corpus).as_posix() for p in _data_packages(corpus)}
    assert {AUTOMATION_KIT, DOTNETPROG} <= found


def test_every_corpus_package_round_trips(corpus: Path, tmp_path: Path) -> None:
    for i, package in enumerate(_data_packages(corpus)):
        first = cmt_import(package, tmp_path / f"a{i}")
        raw_records, raw_links = _raw_counts(package)
        assert first.dropped == (), (package, first.dropped[:5])
        assert {t: n for t, n in first.tables.items() if t in raw_records} == dict(raw_records)
        assert first.n2n == dict(raw_links)

        exported = cmt_export(tmp_path / f"a{i}", tmp_path / f"p{i}.zip")
        assert exported.dropped == ()
        assert exported.tables == {t: first.tables[t] for t in exported.tables}
        assert exported.n2n == first.n2n

        assert verify(tmp_path / f"a{i}").ok
        second = cmt_import(tmp_path / f"p{i}.zip", tmp_path / f"b{i}")
        assert verify(tmp_path / f"b{i}").ok
        assert second.dropped == ()
        assert second.tables == first.tables and second.n2n == first.n2n
        assert _all_records(tmp_path / f"a{i}") == _all_records(tmp_path / f"b{i}"), package

        with zipfile.ZipFile(tmp_path / f"p{i}.zip") as zf:
            assert zf.namelist() == ["[Content_Types].xml", "data.xml", "data_schema.xml"]
            assert zf.read("data.xml").startswith(b"\xef\xbb\xbf<?xml")


def test_dotnetprog_self_reference_escaping_and_links(corpus: Path, tmp_path: Path) -> None:
    report = cmt_import(corpus / DOTNETPROG, tmp_path / "s")
    assert report.tables["fdn_insuranceproductnature"] == 5
    assert Snapshot.open(tmp_path / "s").manifest.created.startswith("2025-06-29T16:27:50")  # data.xml timestamp
    assert report.n2n == {"fdn_insuranceproductnature_fdn_insuranc": 7}
    snap = Snapshot.open(tmp_path / "s")
    natures = {r["fdn_insuranceproductnatureid"]: r for r in snap.records("fdn_insuranceproductnature")}
    root = natures["42e9276a-0555-f011-877a-7c1e52064ef6"]
    assert root["fdn_newcolumn"] == "Root <\"\"> ''é&&@ \\ /"
    children = [r for r in natures.values() if r.get("_fdn_parentinsuranceproductnatureid_value")]
    assert len(children) == 4
    for child in children:
        parent = "_fdn_parentinsuranceproductnatureid_value"
        assert child[parent + LOOKUP_LOGICALNAME] == "fdn_insuranceproductnature"
        assert child["_fdn_parentinsuranceproductnatureid_value"] in natures  # self-reference resolves in the package
    root_id = root["fdn_insuranceproductnatureid"]
    named = [c for c in children if c["_fdn_parentinsuranceproductnatureid_value"] == root_id]
    assert named[0]["_fdn_parentinsuranceproductnatureid_value@OData.Community.Display.V1.FormattedValue"] == (
        "Root <\"\"> ''é&&@ \\ /"
    )
    first = natures["6afe7cda-9d4f-f011-877b-6045bdccf7ac"]
    assert first["fdn_amount"] == 4325.0 and first["fdn_isvalid"] is True and first["fdn_maxspeed"] == 2223.45
    assert first["createdon"] == "2025-06-28T19:06:20Z" and first["statuscode"] == 1
    assert first["_fdn_customer_value" + LOOKUP_LOGICALNAME] == "contact"
    links = list(snap.records("fdn_insuranceproductnature_fdn_insuranc"))
    assert len(links) == 7 and all(set(r) >= {"fdn_insuranceproductid", "fdn_insuranceproductnatureid"} for r in links)

    cmt_export(tmp_path / "s", tmp_path / "p.zip")
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        data = zf.read("data.xml")
    # the CMT double layer: HTML-encoded, then XML-escaped, exactly as CMT wrote the original
    assert (
        b'value="Root &amp;lt;&amp;quot;&amp;quot;&amp;gt; &amp;#39;&amp;#39;&amp;#233;&amp;amp;&amp;amp;@ \\ /"'
        in data
    )
    assert b'lookupentityname="Root &lt;&quot;&quot;&gt; \'\'\xc3\xa9&amp;&amp;@ \\ /"' in data


def test_automation_kit_types_and_bom(corpus: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(corpus / AUTOMATION_KIT) as zf:
        assert zf.read("data.xml").startswith(b"\xef\xbb\xbf")
    report = cmt_import(corpus / AUTOMATION_KIT, tmp_path / "s")
    assert report.records - sum(report.n2n.values()) == 205
    snap = Snapshot.open(tmp_path / "s")
    projects = list(snap.records("autocoe_automationproject"))
    drivers = {r.get("autocoe_primaryimprovementdriver") for r in projects} - {None}
    assert "333820000,333820002" in drivers
    gallery_schema = snap.schema.table("autocoe_consolegallery")
    assert gallery_schema.column("autocoe_imagefile").type == "Image"  # type: ignore[union-attr]
    exported = cmt_export(tmp_path / "s", tmp_path / "p.zip")
    assert any(w.column == "autocoe_imagefile" for w in exported.warnings)
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        assert b'value="[-1,333820000,333820002,-1]"' in zf.read("data.xml")
        schema_xml = zf.read("data_schema.xml")
    assert b'lookupType="autocoe_automationproject"' in schema_xml
    assert b'm2mTargetEntity="autocoe_environment"' in schema_xml


@pytest.mark.parametrize(
    "name", ["CrmPortals", "OrganizationHierarchy", "UsersAndRoles", "FieldServiceConfig", "ManyToMany"]
)
def test_capgemini_schemas_survive_the_model(corpus: Path, name: str) -> None:
    path = corpus / "capgemini-xrm-datamigration/samples/DemoScenarios" / name / "Schema.xml"
    original = parse_schema(path.read_bytes())
    schema = schema_from_cmt_schema(original)
    again, left_out = cmt_schema_from_schema(schema, [e.name for e in original.entities])
    assert left_out == []
    reparsed = parse_schema(write_schema(again))
    dialect = {"integer": "number", "memo": "string"}
    for before in original.entities:
        after = reparsed.entity(before.name)
        assert after is not None and after.primary_id == before.primary_id
        assert {(f.name, dialect.get(f.type, f.type), f.lookup_types) for f in before.fields} == {
            (f.name, f.type, f.lookup_types) for f in after.fields
        }
        assert {(r.name, r.target_entity) for r in before.relationships} <= {
            (r.name, r.target_entity) for r in after.relationships
        } | {(r.name, before.name) for r in after.relationships}
