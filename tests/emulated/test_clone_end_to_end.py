"""``seeder clone`` end to end over real HTTP: a production-like demo organisation into a freshly copied
sandbox, masked, re-wired, and validated all green; plus the safety rails and the settings generator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import orjson
import pytest

from seeder.cli import main
from seeder.clone import CloneOptions, clone
from seeder.dataverse import AuthConfig, Environment
from seeder.demo import DEMO_MASK_KEY, RULES
from seeder.emulator import EmulatorConfig
from seeder.errors import MaskingError, SafetyError
from seeder.mask import leakcheck
from seeder.wiring import read_components

NONE = AuthConfig(method="none")
SEED = 11


@pytest.fixture
def pair(start_emulator: Callable[..., str]) -> tuple[str, str]:
    source = start_emulator(EmulatorConfig(demo=True, records=400, seed=SEED, production=True))
    target = start_emulator(EmulatorConfig(demo=True, records=0, seed=SEED, with_connections=True))
    return source, target


def test_clone_into_a_refreshed_sandbox_is_all_green(pair: tuple[str, str], tmp_path: Path) -> None:
    source_url, target_url = pair
    with Environment.connect(source_url, NONE) as source, Environment.connect(target_url, NONE) as target:
        before = read_components(target)
        assert all(f.state != "on" for f in before.flows)  # a copy leaves flows off ...
        assert all(not r.connection_id for r in before.connection_references)  # ... and references unbound
        assert target.admin_state() == (True, False)  # ... in administration mode
        report = clone(source, target, CloneOptions(workdir=tmp_path, rules=RULES, mask_key=DEMO_MASK_KEY,
                                                    keep_source_export=True))
        statuses = {c["name"]: c["status"] for c in report.to_dict()["checks"]}
        assert set(statuses.values()) == {"pass"}, statuses
        assert report.ok and report.records_failed == 0
        assert report.records_copied > 350
        assert report.columns_masked > 20
        assert report.flows_turned_on == 2
        after = read_components(target)
        connections = {c["name"] for c in target.list_connections()}
        assert all(r.connection_id in connections for r in after.connection_references)
        assert target.admin_state() == (False, True)
        # the app is shared again as in the source (the copy had lost the group and Everyone)
        app = after.canvas_apps[0]
        source_app = read_components(source).canvas_apps[0]
        assert source_app.shared_with and set(app.shared_with) == set(source_app.shared_with)
        assert any(k.startswith("tenant:") for k in app.shared_with)
        # no original value of a masked column reached the target's snapshot
        assert leakcheck(tmp_path / "source", tmp_path / "masked").ok
        # the masked data really is what the target holds now
        contact = next(iter(target.iter_records("contact", select=["contactid", "emailaddress1"])))
        original = {r["contactid"]: r.get("emailaddress1") for r in source.iter_records("contact")}
        assert contact.get("emailaddress1") != original[contact["contactid"]]


def test_clone_cli_writes_json_and_junit_reports(pair: tuple[str, str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    source_url, target_url = pair
    monkeypatch.setenv("SEEDER_MASK_KEY", DEMO_MASK_KEY.decode())
    report, junit = tmp_path / "report.json", tmp_path / "validation.xml"
    with pytest.raises(SystemExit) as done:
        main(["clone", "--source", source_url, "--target", target_url, "--rules", str(RULES), "--auth", "none",
              "--workdir", str(tmp_path / "work"), "--report", str(report), "--junit", str(junit)])
    assert done.value.code == 0
    data = orjson.loads(report.read_bytes())
    assert data["ok"] is True
    assert not (tmp_path / "work" / "source").exists()  # the unmasked export is not left on disk
    assert {"name", "status", "hint"} <= set(data["checks"][0])
    assert data["summary"]["records_copied"] > 350
    suite = ElementTree.fromstring(junit.read_text(encoding="utf-8"))
    cases = suite.findall(".//testcase")
    assert len(cases) == len(data["checks"]) and not suite.findall(".//failure")


def test_clone_refuses_unmasked_data_and_production_targets(start_emulator: Callable[..., str],
                                                            tmp_path: Path) -> None:
    source_url = start_emulator(EmulatorConfig(demo=True, records=50, seed=SEED))
    prod_url = start_emulator(EmulatorConfig(demo=True, records=0, seed=SEED, production=True))
    with Environment.connect(source_url, NONE) as source, Environment.connect(prod_url, NONE) as target:
        with pytest.raises(MaskingError, match="no rule set or key"):
            clone(source, target, CloneOptions(workdir=tmp_path))
        with pytest.raises(SafetyError, match="Production environment, not a sandbox"):
            clone(source, target, CloneOptions(workdir=tmp_path, rules=RULES, mask_key=DEMO_MASK_KEY))
        assert not (tmp_path / "source").exists()  # refused before anything was exported


def test_settings_generate_matches_the_targets_connections(pair: tuple[str, str], tmp_path: Path) -> None:
    source_url, target_url = pair
    snap = tmp_path / "snap"
    with pytest.raises(SystemExit) as done:
        main(["export", "--env", source_url, "--auth", "none", "--out", str(snap),
              "--tables", "connectionreference,connector,environmentvariabledefinition,environmentvariablevalue,"
                          "workflow,solution,solutioncomponent,canvasapp"])
    assert done.value.code == 0
    out = tmp_path / "settings.json"
    with pytest.raises(SystemExit) as done:
        main(["settings", "generate", "--env", target_url, "--auth", "none", "--snapshot", str(snap),
              "--out", str(out)])
    assert done.value.code == 0
    settings = orjson.loads(out.read_bytes().decode("utf-8-sig"))
    with Environment.connect(target_url, NONE) as target:
        connections = {c["name"] for c in target.list_connections()}
    refs = settings["ConnectionReferences"]
    assert len(refs) == 3
    assert all(r["ConnectionId"] in connections for r in refs)
    assert {"LogicalName", "ConnectionId", "ConnectorId"} <= set(refs[0])
    assert {"SchemaName", "Value"} <= set(settings["EnvironmentVariables"][0])


def test_export_carries_solutions_packed_and_unpacked(pair: tuple[str, str], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from seeder.components import ComponentSet
    from seeder.snapshot import Snapshot

    source_url, _ = pair
    snap = tmp_path / "snap"
    with pytest.raises(SystemExit) as done:
        main(["export", "--env", source_url, "--auth", "none", "--out", str(snap), "--json"])
    assert done.value.code == 0
    exported = orjson.loads(capsys.readouterr().out)
    assert exported["components"]["solutions_exported"] == 1
    files = dict(Snapshot.open(snap).components())
    assert "solutions/SeederDemo.zip" in files and "solutions/SeederDemo_managed.zip" in files
    assert "solutions/SeederDemo/Other/Solution.xml" in files
    unpacked = tmp_path / "unpacked"
    for name, data in files.items():
        if name.startswith("solutions/SeederDemo/"):
            target = unpacked / name.removeprefix("solutions/SeederDemo/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    from_solution = ComponentSet.from_solution(unpacked).to_dict()
    assert len(from_solution["flows"]) == 2  # the unpacked layout reads back as a solution
    with pytest.raises(SystemExit) as done:
        main(["components", str(snap), "--json"])
    assert done.value.code == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert len(listed["flows"]) == 2
    assert all(f["connection_references"] for f in listed["flows"])
    assert {r["logical_name"] for r in listed["connection_references"]} == {
        r["logical_name"] for r in from_solution["connection_references"]}
    assert not [f for f in listed["findings"] if f["severity"] == "error"]


def test_clone_imports_the_solution_a_bare_target_lacks(pair: tuple[str, str], tmp_path: Path) -> None:
    source_url, target_url = pair
    with Environment.connect(source_url, NONE) as source, Environment.connect(target_url, NONE) as target:
        schema = target.schema()
        for table in ("workflow", "connectionreference", "environmentvariablevalue", "environmentvariabledefinition",
                      "canvasapp", "connector", "solutioncomponent", "solution"):
            pk = schema.table(table).primary_id
            for row in list(target.iter_records(table, select=[pk])):
                target.delete(table, row[pk])
        assert not read_components(target).flows
        report = clone(source, target, CloneOptions(workdir=tmp_path, rules=RULES, mask_key=DEMO_MASK_KEY))
        done = report.stages["rewire"]["before_data"]["done"]
        assert [d["target"] for d in done if d["kind"] == "import-solution"] == ["SeederDemo"]
        statuses = {c["name"]: c["status"] for c in report.to_dict()["checks"]}
        assert statuses["flows-on"] == "pass" and statuses["connection-references-bound"] == "pass", statuses
        assert statuses["custom-connectors-present"] == "pass", statuses
        solutions = {r["uniquename"] for r in target.iter_records("solution", select=["uniquename"])}
        assert "SeederDemo" in solutions
