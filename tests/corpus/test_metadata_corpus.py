# ruff: noqa: E501
"""Schema readers on the real third-party corpus: counts read off the files themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeder.metadata import load_schema_source, schema_from_cmt, schema_from_solution
from seeder.model import Schema

COPILOT = "copilot-studio-kit/CopilotStudioAccelerator/SolutionPackage/src"
APPROVALS = "business-approvals-kit/BusinessApprovalKit/SolutionPackage/src"
PORTALS = "capgemini-xrm-datamigration/samples/DemoScenarios/CrmPortals/Schema.xml"
AUTOMATION_ZIP = "automation-kit/AutomationKIT_Packages/Source/AutomationKITPackage_Main/PkgAssets/AutomationKit-SampleData.zip"


def lookup_columns(schema: Schema) -> int:
    return sum(1 for t in schema.tables for c in t.columns if c.is_lookup)


def self_references(schema: Schema) -> set[tuple[str, str]]:
    return {(t.name, lk.column) for t in schema.tables for lk in t.lookups if t.name in lk.targets}


def test_copilot_studio_kit(corpus: Path) -> None:
    schema = schema_from_solution(corpus / COPILOT)
    assert len(schema.tables) == 35
    assert lookup_columns(schema) == 295
    # every lookup/owner column got its targets from a relationship, LookupTypes or the system defaults
    assert sum(len(t.lookups) for t in schema.tables) == 295
    assert self_references(schema) == {
        ("cat_agenttranscripts", "cat_parent"), ("cat_copilottest", "cat_parent"),
        ("cat_copilottestresult", "cat_parent"),
    }
    assert len(schema.many_to_many) == 1
    m2m = schema.many_to_many[0]
    assert (m2m.name, m2m.table1, m2m.table2, m2m.intersect_table) == (
        "cat_ThresholdViolations", "cat_thresholdconfig", "cat_compliancecase", "cat_compliancecase_thresholdconfig")
    table = schema.table("cat_agenttranscripts")
    assert table.entity_set == "cat_agenttranscriptses"
    assert table.primary_id == "cat_agenttranscriptsid" and table.primary_name == "cat_name"
    parent = table.lookup("cat_parent")
    assert parent is not None and parent.to[0].navigation_property == "cat_Parent"
    assert parent.to[0].relationship == "cat_AgentTranscripts_Parent_cat_AgentTranscripts"
    owner = table.lookup("ownerid")
    assert owner is not None and owner.targets == ("systemuser", "team") and owner.required
    assert table.lookup("createdonbehalfby").targets == ("systemuser",)  # type: ignore[union-attr]
    assert table.column("cat_agentid").required == "ApplicationRequired"  # type: ignore[union-attr]


def test_copilot_kit_options_and_formats(corpus: Path) -> None:
    schema = schema_from_solution(corpus / COPILOT)
    test = schema.table("cat_copilottest")
    status = test.column("statuscode")
    assert status is not None and status.options == ((1, "Active"), (2, "Inactive"))
    formats = {c.format for t in schema.tables for c in t.columns if c.type == "String"}
    assert {"Url", "Text", "RichText"} <= formats
    # a global option set is resolved from OptionSets/
    picklists = [c for t in schema.tables for c in t.columns if c.type == "Picklist"]
    assert picklists and all(c.options for c in picklists)


def test_business_approvals_kit(corpus: Path) -> None:
    schema = schema_from_solution(corpus / APPROVALS)
    assert len(schema.tables) == 32
    assert lookup_columns(schema) == 337
    assert self_references(schema) == {("cat_businessapprover", "cat_delegate"),
                                       ("cat_businessapprover", "cat_backupdelegate")}
    assert sorted(r.name for r in schema.many_to_many) == ["cat_bizappr_nodeapprover",
                                                           "cat_bizappr_runtimenodeapprover"]
    emails = sorted((t.name, c.name) for t in schema.tables for c in t.columns if c.format == "Email")
    assert len(emails) == 5


def test_packed_solution_zips(corpus: Path) -> None:
    zips = {p.name: p for p in corpus.glob("powerapps-samples/**/*.zip")}
    cls = schema_from_solution(zips["ColumnLevelSecuritySampleSolution.zip"])
    assert cls.table_names == ("sample_example",)
    assert cls.table("sample_example").entity_set == "sample_examples"
    legacy = schema_from_solution(zips["ChangeTrackingSample_1_0_0_0_managed.zip"])
    # the legacy export has no EntitySetName: the default plural is used
    assert legacy.table("sample_book").entity_set == "sample_books"
    ai = schema_from_solution(zips["CreateAIBuilderpromptsusingyourownDataversedata_1_0_0_1_managed.zip"])
    assert ai.table_names == ("aib_issuer", "aib_proposal", "aib_relatedparty")
    assert ai.table("aib_relatedparty").entity_set == "aib_relatedparties"
    assert lookup_columns(ai) == 28


def test_tiny_and_empty_solutions(corpus: Path) -> None:
    mock = schema_from_solution(corpus / "capgemini-pdt-mock/tests/pdt_PackageDeployerTemplate_MockSolution/src")
    assert mock.table_names == ("account",)
    empty = schema_from_solution(corpus / "powerplatform-actions/src/test/data/emptySolution")
    assert empty.tables == ()


def test_capgemini_portal_schema(corpus: Path) -> None:
    schema = schema_from_cmt(corpus / PORTALS)
    assert len(schema.tables) == 34
    assert len(schema.many_to_many) == 10
    refs = self_references(schema)
    assert {("adx_webpage", "adx_parentpageid"), ("adx_webpage", "adx_masterwebpageid"),
            ("adx_webpage", "adx_rootwebpageid"), ("adx_weblink", "adx_parentweblinkid"),
            ("adx_webfile", "adx_masterwebfileid"), ("adx_website", "adx_parentwebsiteid"),
            ("adx_entitypermission", "adx_parententitypermission")} <= refs
    assert len([r for r in refs if r[0] == "adx_webformstep"]) == 5


@pytest.mark.parametrize(("scenario", "tables", "relationship"), [
    ("OrganizationHierarchy", 3, "teamroles"), ("UsersAndRoles", 1, "systemuserroles"),
    ("ManyToMany", 2, "opportunitycompetitors"),
])
def test_capgemini_small_schemas(corpus: Path, scenario: str, tables: int, relationship: str) -> None:
    schema = schema_from_cmt(corpus / f"capgemini-xrm-datamigration/samples/DemoScenarios/{scenario}/Schema.xml")
    assert len(schema.tables) == tables
    assert relationship in {r.name for r in schema.many_to_many}


def test_capgemini_integer_dialect(corpus: Path) -> None:
    types: set[str] = set()
    for scenario in ("FieldServiceConfig", "UsersAndRoles"):
        schema = schema_from_cmt(corpus / f"capgemini-xrm-datamigration/samples/DemoScenarios/{scenario}/Schema.xml")
        types |= {c.type for t in schema.tables for c in t.columns}
    assert "Integer" in types and "Memo" in types
    assert not {t for t in types if t[0].islower()}


def test_dotnetprog_cmt(corpus: Path) -> None:
    schema = schema_from_cmt(corpus / "dotnetprog-cmt/data/data_schema.xml")
    assert len(schema.tables) == 4
    assert lookup_columns(schema) == 34
    assert self_references(schema) == {("fdn_insuranceproductnature", "fdn_parentinsuranceproductnatureid")}
    customer = schema.table("fdn_insuranceproductnature").lookup("fdn_customer")
    assert customer is not None and customer.targets == ("account", "contact")
    assert customer.target("account").navigation_property == "fdn_customer_account"  # type: ignore[union-attr]
    (m2m,) = schema.many_to_many
    assert (m2m.table1, m2m.table2) == ("fdn_insuranceproductnature", "fdn_insuranceproductnature") or \
        m2m.table2 == "fdn_insuranceproductnature"
    # the folder works as well as the file
    assert schema_from_cmt(corpus / "dotnetprog-cmt/data") == schema


def test_automation_kit_package_zip(corpus: Path) -> None:
    schema = load_schema_source(corpus / AUTOMATION_ZIP)
    assert len(schema.tables) == 26
    assert lookup_columns(schema) == 231  # 205 entityreference + 26 owner
    assert self_references(schema) == set()
    assert [r.name for r in schema.many_to_many] == ["autocoe_environment_automationproject_mapping"]
    assert all(t.lookup("ownerid").targets == ("systemuser", "team") for t in schema.tables)  # type: ignore[union-attr]


def test_load_schema_source_detects_each_kind(corpus: Path) -> None:
    assert len(load_schema_source(corpus / COPILOT).tables) == 35
    assert len(load_schema_source(corpus / PORTALS).tables) == 34
    assert len(load_schema_source(corpus / "dotnetprog-cmt/data").tables) == 4
    zips = {p.name: p for p in corpus.glob("powerapps-samples/**/*.zip")}
    assert load_schema_source(zips["ColumnLevelSecuritySampleSolution.zip"]).table_names == ("sample_example",)
