"""Components on every real solution and deployment settings file in the shared corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from seeder.components import ComponentSet, DeploymentSettings, propose_settings
from seeder.components.flows import connector_key

REPO = Path(__file__).resolve().parents[2]
COPILOT = "copilot-studio-kit/CopilotStudioAccelerator/SolutionPackage/src"
APPROVALS = "business-approvals-kit/BusinessApprovalKit/SolutionPackage/src"
PDT = "capgemini-pdt-mock/tests/pdt_PackageDeployerTemplate_MockSolution/src"
EMPTY = "powerplatform-actions/src/test/data/emptySolution"
AI_ZIP = ("powerapps-samples/ai-builder/LearningModules/"
          "CreateAIBuilderpromptsusingyourownDataversedata_1_0_0_1_managed.zip")
FOLDERS = [COPILOT, APPROVALS, PDT, EMPTY]


def _zips(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*.zip") if "CmtPackage" not in p.name and "SampleData" not in p.name)


def _all_resolved(cs: ComponentSet) -> None:
    declared = {c.logical_name for c in cs.connection_references}
    for flow in cs.flows:
        assert flow.definition is not None, flow.name
        assert set(flow.connection_references) <= declared, flow.name
        assert not flow.definition.undeclared_keys, flow.name
        assert not flow.definition.legacy_connections, flow.name
    assert not cs.errors(), [f.message for f in cs.errors()]


@pytest.mark.parametrize("rel", FOLDERS)
def test_every_unpacked_solution_reads_without_errors(corpus: Path, rel: str):
    cs = ComponentSet.from_solution(corpus / rel)
    _all_resolved(cs)
    json.dumps(cs.to_dict())  # JSON-ready


def test_every_solution_zip_reads_without_errors(corpus: Path):
    zips = _zips(corpus)
    assert len(zips) >= 4
    for z in zips:
        cs = ComponentSet.from_solution(z)
        assert cs.solutions[0].unique_name, z
        _all_resolved(cs)


def test_copilot_studio_kit(corpus: Path):
    cs = ComponentSet.from_solution(corpus / COPILOT)
    assert cs.solutions[0].unique_name == "CopilotStudioAccelerator"
    assert cs.solutions[0].publisher_prefix == "cat"
    assert len(cs.flows) == 62 and cs.classic_workflows == 28
    assert len(cs.connection_references) == 9
    used = {r for f in cs.flows for r in f.connection_references}
    assert used == {c.logical_name for c in cs.connection_references}
    assert max(len(f.connection_references) for f in cs.flows) == 4
    assert len(cs.environment_variables) == 19
    types = sorted(e.type_name for e in cs.environment_variables)
    assert types.count("String") == 9 and types.count("Boolean") == 5 and types.count("JSON") == 1
    assert any(f.environment_variables for f in cs.flows)
    env_names = {e.schema_name for e in cs.environment_variables}
    assert {v for f in cs.flows for v in f.environment_variables} <= env_names
    assert all(not a.packaged for a in cs.canvas_apps) and len(cs.canvas_apps) == 18


def test_business_approvals_kit(corpus: Path):
    cs = ComponentSet.from_solution(corpus / APPROVALS)
    assert len(cs.flows) == 25 and len(cs.connection_references) == 6
    assert len(cs.canvas_apps) == 5 and all(a.packaged for a in cs.canvas_apps)
    assert [c.name for c in cs.custom_connectors] == ["cat_approvals-20kit"]
    org_url = next(e for e in cs.environment_variables if e.schema_name == "cat_ApprovalKitOrgUrl")
    assert org_url.current_value and org_url.effective_value == org_url.current_value
    children = {c for f in cs.flows for c in f.child_flows}
    assert children and children <= {f.id for f in cs.flows}  # every child flow is in the solution
    graph = cs.dependencies()
    parent = next(f for f in cs.flows if f.child_flows)
    assert f"flow:{parent.child_flows[0]}" in graph[f"flow:{parent.id}"]
    # the Graph mailbox reference points at a custom connector that is not part of this solution
    missing = [f for f in cs.findings if f.code == "custom-connector-missing"]
    assert [f.component for f in missing] == ["cat_BusinessApprovalKitMicrosoftGraphMailboxSetting"]


def test_pdt_mock_numeric_suffix_key(corpus: Path):
    cs = ComponentSet.from_solution(corpus / PDT)
    approval = next(f for f in cs.flows if "approval" in f.name.lower())
    keys = {c.key for c in approval.definition.connections}  # type: ignore[union-attr]
    assert "shared_commondataserviceforapps_1" in keys
    assert set(approval.connection_references) == {"pdt_CommonDataServiceCurrentEnvironment",
                                                   "pdt_sharedapprovals_d7dcb"}
    assert len(cs.custom_connectors) == 1 and cs.custom_connectors[0].id


def test_zip_with_a_flow(corpus: Path):
    cs = ComponentSet.from_solution(corpus / AI_ZIP)
    assert cs.solutions[0].managed
    assert [f.name for f in cs.flows] == ["Import dataset"]
    assert cs.flows[0].state == "on"
    assert cs.flows[0].connection_references == ("aib_sharedcommondataserviceforapps_447d4",)


def _drop_reference(src: Path, dst: Path, logical_name: str) -> None:
    shutil.copytree(src, dst)
    path = dst / "Other" / "Customizations.xml"
    root = etree.fromstring(path.read_bytes())
    for elem in root.iter("connectionreference"):
        if elem.get("connectionreferencelogicalname") == logical_name:
            elem.getparent().remove(elem)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def test_undeclared_reference_is_flagged(corpus: Path, tmp_path: Path):
    _drop_reference(corpus / PDT, tmp_path / "sol", "pdt_sharedapprovals_d7dcb")
    cs = ComponentSet.from_solution(tmp_path / "sol")
    errors = [(f.code, f.component) for f in cs.errors()]
    assert errors == [("undeclared-connection-reference", "When a contact is created -> Create an approval")]
    assert "pdt_sharedapprovals_d7dcb" in cs.errors()[0].message


def test_undeclared_reference_in_large_solution(corpus: Path, tmp_path: Path):
    full = ComponentSet.from_solution(corpus / APPROVALS)
    victim = "cat_BusinessApprovalKitO365Outlook"
    users = {f.name for f in full.flows if victim in f.connection_references}
    assert users
    src = corpus / APPROVALS
    dst = tmp_path / "sol"
    dst.mkdir()
    for sub in ("Other", "Workflows"):
        shutil.copytree(src / sub, dst / sub)
    _drop = dst / "Other" / "Customizations.xml"
    root = etree.fromstring(_drop.read_bytes())
    for elem in list(root.iter("connectionreference")):
        if elem.get("connectionreferencelogicalname") == victim:
            elem.getparent().remove(elem)
    _drop.write_bytes(etree.tostring(root))
    cs = ComponentSet.from_solution(dst)
    flagged = {f.component for f in cs.errors() if f.code == "undeclared-connection-reference"}
    assert flagged == users


def _settings_files(corpus: Path) -> list[Path]:
    return sorted(corpus.rglob("deploymentSettings.json"))


def test_deployment_settings_round_trip(corpus: Path, tmp_path: Path):
    files = _settings_files(corpus)
    assert len(files) == 5
    for i, path in enumerate(files):
        settings = DeploymentSettings.load(path)
        original = json.loads(path.read_text(encoding="utf-8-sig"))
        assert len(settings.connection_references) == len(original["ConnectionReferences"])
        out = tmp_path / f"{i}.json"
        settings.dump(out)
        assert json.loads(out.read_text(encoding="utf-8")) == original, path
        assert DeploymentSettings.load(out) == settings
        assert all(k == "ConnectionOwner" for c in settings.connection_references for k, _ in c.extra)
        assert settings.connection_references and all(
            c.logical_name in settings.unresolved() for c in settings.connection_references)  # all tokens


def test_settings_match_their_solutions(corpus: Path):
    pairs = [(COPILOT, "copilot-studio-kit/CopilotStudioAccelerator/config/Prod/deploymentSettings.json"),
             (APPROVALS, "business-approvals-kit/BusinessApprovalKit/config/Prod/deploymentSettings.json")]
    for solution, settings_file in pairs:
        cs = ComponentSet.from_solution(corpus / solution)
        given = DeploymentSettings.load(corpus / settings_file)
        generated = DeploymentSettings.from_components(cs)
        assert {c.logical_name for c in given.connection_references} == \
            {c.logical_name for c in generated.connection_references}
        assert {connector_key(c.connector_id) for c in given.connection_references} == \
            {connector_key(c.connector_id) for c in generated.connection_references}
        assert {e.schema_name for e in given.environment_variables} <= \
            {e.schema_name for e in generated.environment_variables}


def test_propose_settings_on_copilot_kit(corpus: Path):
    cs = ComponentSet.from_solution(corpus / COPILOT)
    connectors = sorted({connector_key(c.connector) for c in cs.connection_references})
    connections = [{"name": f"{key}-conn", "properties": {"apiId": f"/providers/Microsoft.PowerApps/apis/{key}",
                                                          "statuses": [{"status": "Connected"}]}}
                   for key in connectors[1:]]
    given = DeploymentSettings.load(corpus / "copilot-studio-kit/CopilotStudioAccelerator/config/Prod/"
                                             "deploymentSettings.json")
    proposal = propose_settings(cs, connections, settings=given)
    unmatched = {f.component for f in proposal.findings}
    expected = {c.logical_name for c in cs.connection_references if connector_key(c.connector) == connectors[0]}
    assert unmatched == expected
    assert len(proposal.matched) == len(cs.connection_references) - len(expected)
    kept = {k for c in proposal.settings.connection_references for k, _ in c.extra}
    assert kept == {"ConnectionOwner"}


def test_seeder_demo_solution_has_no_errors():
    demo = REPO / "solutions" / "SeederDemo"
    if not demo.exists():
        pytest.skip("solutions/SeederDemo is not there yet")
    cs = ComponentSet.from_solution(demo)
    assert cs.flows and cs.connection_references
    assert not cs.errors(), [f.message for f in cs.errors()]
    _all_resolved(cs)
