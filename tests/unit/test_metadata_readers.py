# ruff: noqa: E501
"""Schema readers on small hand-written inputs: hardening, BOMs, zips, auto-detection and schema extension."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from seeder.errors import UsageError
from seeder.metadata import crm_core_schema, extend_schema, load_schema_source, schema_from_cmt, schema_from_solution
from seeder.model import Column, Schema, Table

CMT = b"""\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>
<entities>
  <entity name="new_project" displayname="Project" etc="10001" primaryidfield="new_projectid" primarynamefield="new_name">
    <fields>
      <field displayname="Project" name="new_projectid" type="guid" primaryKey="true" />
      <field displayname="Name" name="new_name" type="string" customfield="true" />
      <field displayname="Parent" name="new_parentid" type="entityreference" lookupType="new_project" customfield="true" />
      <field displayname="Client" name="new_clientid" type="entityreference" lookupType="account|contact" />
      <field displayname="Owner" name="ownerid" type="owner" />
      <field displayname="Hours" name="new_hours" type="integer" />
    </fields>
    <relationships>
      <relationship name="new_project_contact" manyToMany="true" isreflexive="false" relatedEntityName="new_project_contact" m2mTargetEntity="contact" m2mTargetEntityPrimaryKey="contactid" />
      <relationship name="new_broken" manyToMany="true" isreflexive="false" relatedEntityName="new_broken" />
    </relationships>
  </entity>
</entities>
"""

ENTITY = """<?xml version="1.0" encoding="utf-8"?>
<Entity><Name LocalizedName="Project">new_Project</Name><EntityInfo><entity Name="new_Project"><attributes>
<attribute PhysicalName="new_ProjectId"><Type>primarykey</Type><LogicalName>new_projectid</LogicalName>
<RequiredLevel>systemrequired</RequiredLevel></attribute>
<attribute PhysicalName="new_Name"><Type>nvarchar</Type><LogicalName>new_name</LogicalName>
<RequiredLevel>required</RequiredLevel><DisplayMask>PrimaryName|ValidForGrid</DisplayMask><Format>text</Format>
<MaxLength>100</MaxLength></attribute>
<attribute PhysicalName="new_Contact"><Type>lookup</Type><LogicalName>new_contact</LogicalName>
<RequiredLevel>none</RequiredLevel><IsCustomField>1</IsCustomField></attribute>
<attribute PhysicalName="new_Email"><Type>nvarchar</Type><LogicalName>new_email</LogicalName>
<RequiredLevel>recommended</RequiredLevel><Format>email</Format></attribute>
</attributes><OwnershipTypeMask>OrganizationOwned</OwnershipTypeMask></entity></EntityInfo></Entity>
"""

RELATIONSHIP = """<EntityRelationships><EntityRelationship Name="new_project_contact">
<EntityRelationshipType>OneToMany</EntityRelationshipType><ReferencingEntityName>new_Project</ReferencingEntityName>
<ReferencedEntityName>Contact</ReferencedEntityName><ReferencingAttributeName>new_Contact</ReferencingAttributeName>
</EntityRelationship></EntityRelationships>"""


def unpacked(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "Entities" / "new_Project").mkdir(parents=True)
    (root / "Other" / "Relationships").mkdir(parents=True)
    (root / "Entities" / "new_Project" / "Entity.xml").write_bytes(b"\xef\xbb\xbf" + ENTITY.encode())
    (root / "Other" / "Relationships" / "new_Project.xml").write_text(RELATIONSHIP)
    (root / "Other" / "Solution.xml").write_text("<ImportExportXml/>")
    return root


def test_cmt_reader(tmp_path: Path) -> None:
    path = tmp_path / "data_schema.xml"
    path.write_bytes(CMT)
    schema = schema_from_cmt(path)
    table = schema.table("new_project")
    assert table.entity_set == "new_projects" and table.primary_name == "new_name"
    assert table.column("new_hours").type == "Integer"  # type: ignore[union-attr]
    client = table.lookup("new_clientid")
    assert client is not None and [t.navigation_property for t in client.to] == ["new_clientid_account",
                                                                                 "new_clientid_contact"]
    assert table.lookup("ownerid").to[0].navigation_property == "ownerid"  # type: ignore[union-attr]
    assert [r.name for r in schema.many_to_many] == ["new_project_contact"]  # no target: skipped
    assert load_schema_source(path) == schema


def test_cmt_package_zip_and_wrong_root(tmp_path: Path) -> None:
    package = tmp_path / "pkg.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("data_schema.xml", CMT)
    assert schema_from_cmt(package).table_names == ("new_project",)
    assert load_schema_source(package).table_names == ("new_project",)
    wrong = tmp_path / "x.xml"
    wrong.write_text("<other/>")
    with pytest.raises(UsageError, match="not a CMT schema"):
        schema_from_cmt(wrong)
    with pytest.raises(UsageError, match="unknown schema file"):
        load_schema_source(wrong)


def test_unpacked_solution_with_bom_and_relationship(tmp_path: Path) -> None:
    schema = schema_from_solution(unpacked(tmp_path))
    table = schema.table("new_project")
    assert table.ownership == "OrganizationOwned" and table.display_name == "Project"
    lookup = table.lookup("new_contact")
    assert lookup is not None and lookup.targets == ("contact",)
    assert lookup.to[0].navigation_property == "new_Contact"  # custom lookup: schema name
    assert table.column("new_email").format == "Email"  # type: ignore[union-attr]
    assert table.column("new_name").max_length == 100  # type: ignore[union-attr]
    # a parent folder holding exactly one unpacked solution is accepted too
    assert schema_from_solution(tmp_path) == schema


def test_xml_entities_are_not_expanded(tmp_path: Path) -> None:
    evil = tmp_path / "data_schema.xml"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    evil.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE entities [<!ENTITY x SYSTEM "file://{secret}"><!ENTITY y "&x;&x;&x;">]>
<entities><entity name="a" primaryidfield="aid" displayname="&y;"><fields>
<field name="aid" type="guid" primaryKey="true"/></fields></entity></entities>""")
    with pytest.raises(UsageError, match="external entity"):
        schema_from_cmt(evil)
    text_ref = tmp_path / "text.xml"
    text_ref.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE entities [<!ENTITY x SYSTEM "file://{secret}">]>
<entities><entity name="a" primaryidfield="aid"><fields><field name="aid" type="guid" primaryKey="true"/>
</fields>&x;</entity></entities>""")
    table = schema_from_cmt(text_ref).table("a")
    assert "TOPSECRET" not in repr(table)


def test_malformed_xml_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "data_schema.xml"
    bad.write_text("<entities><entity")
    with pytest.raises(UsageError, match="not well-formed"):
        schema_from_cmt(bad)


def test_zip_traversal_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("customizations.xml", "<ImportExportXml/>")
        archive.writestr("../../etc/passwd", "x")
    with pytest.raises(UsageError, match="unsafe entry"):
        schema_from_solution(evil)
    not_zip = tmp_path / "plain.zip"
    not_zip.write_text("nope")
    with pytest.raises(UsageError, match="not a readable zip"):
        schema_from_solution(not_zip)


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        schema_from_solution(tmp_path / "nothing")
    with pytest.raises(UsageError, match="no unpacked solution"):
        schema_from_solution(tmp_path)
    with pytest.raises(UsageError):
        load_schema_source(tmp_path / "nothing.xml")


def test_schema_json(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    import json
    path.write_text(json.dumps(crm_core_schema().select(["account", "contact"]).to_dict()))
    assert load_schema_source(path).table_names == ("account", "contact")


def test_extend_schema_keeps_core_columns(tmp_path: Path) -> None:
    core = crm_core_schema()
    extra = Schema(tables=(
        Table(name="account", entity_set="accounts", primary_id="accountid",
              columns=(Column(name="new_score", type="Integer"),)),
        Table(name="new_thing", entity_set="new_things", primary_id="new_thingid"),
    ))
    merged = extend_schema(core, extra)
    account = merged.table("account")
    assert account.column("new_score") is not None and account.column("primarycontactid") is not None
    assert account.lookup("primarycontactid") is not None
    assert "new_thing" in merged and "contact" in merged
