"""Post-restore validation: pass/fail/warn per checklist item, JSON, text and JUnit renderings."""

from __future__ import annotations

from components_rows import rows
from lxml import etree

from seeder.components import ComponentSet, MailboxFact, TargetFacts, facts_from_components, validate


def _status(report, name):
    return next(c for c in report.checks if c.name == name).status


def test_unknown_facts_warn_never_pass():
    report = validate(TargetFacts())
    assert _status(report, "administration-mode") == "warn"
    assert _status(report, "background-operations") == "warn"
    assert _status(report, "mailboxes") == "warn"
    assert report.ok


def test_all_green():
    facts = TargetFacts(admin_mode=False, background_operations=True, flows_expected_on={"F": "on"},
                        flows_expected_off={"G": "off"}, connection_references={"r": "c-1"},
                        environment_variables={"v": "1"}, custom_connectors_expected=["K"],
                        custom_connectors_present=["k"], canvas_apps_expected=["app"],
                        canvas_apps_present={"app": "u1"}, mailboxes=[MailboxFact("m", False, False)])
    report = validate(facts)
    assert {c.status for c in report.checks} == {"pass"}, report.to_text()
    names = [c.name for c in report.checks]
    assert names == ["administration-mode", "background-operations", "flows-on", "flows-off",
                     "connection-references-bound", "environment-variables-set", "custom-connectors-present",
                     "canvas-app-ids", "canvas-app-shares", "mailboxes"]


def test_failures_and_renderings():
    facts = TargetFacts(admin_mode=True, background_operations=False, flows_expected_on={"F": "off"},
                        flows_expected_off={"G": "on"}, connection_references={"r": None},
                        environment_variables={"v": ""}, custom_connectors_expected=["K"],
                        canvas_apps_expected=["app", "gone"], canvas_apps_present={"app": "u2"},
                        missing_shares={"app": ["g1"]}, mailboxes=[MailboxFact("m", True, False)])
    report = validate(facts)
    statuses = {c.name: c.status for c in report.checks}
    assert statuses == {"administration-mode": "fail", "background-operations": "fail", "flows-on": "fail",
                        "flows-off": "warn", "connection-references-bound": "fail",
                        "environment-variables-set": "fail", "custom-connectors-present": "fail",
                        "canvas-app-ids": "fail", "canvas-app-shares": "fail", "mailboxes": "fail"}
    assert not report.ok
    d = report.to_dict()
    assert d["checks"][2] == {"name": "flows-on", "status": "fail", "hint": d["checks"][2]["hint"], "items": ["F"]}
    assert all(c["hint"] for c in d["checks"])
    xml = etree.fromstring(report.to_junit().encode())
    suite = xml.find("testsuite")
    assert suite is not None and suite.get("tests") == "10" and suite.get("failures") == "9"
    assert len(suite.findall("testcase/failure")) == 9
    assert "WARNING" in suite.find("testcase[@name='flows-off']/system-out").text
    text = report.to_text()
    assert text.splitlines()[0].startswith("FAIL  administration-mode")
    assert text.rstrip().endswith("0 passed, 1 warnings, 9 failed")


def test_changed_app_ids_warn():
    facts = TargetFacts(admin_mode=False, background_operations=True, canvas_apps_expected=["app"],
                        canvas_apps_present={"app": "u2"}, canvas_app_ids_changed={"app": ("u1", "u2")})
    assert _status(validate(facts), "canvas-app-ids") == "warn"


def test_facts_from_components():
    source = ComponentSet.from_rows(rows())
    target_rows = rows()
    target_rows["workflows"][0]["statecode"] = 0
    target_rows["canvasapp"][0]["uniquecanvasappid"] = "U9"
    target_rows["canvasapp"][0]["@seeder.sharedwith"] = []
    target = ComponentSet.from_rows(target_rows)
    facts = facts_from_components(source, target, admin_mode=False, background_operations=True, mailboxes=[])
    assert facts.flows_expected_on == {"Parent": "off"}
    assert facts.connection_references == {"new_dataverse": None, "new_outlook": "shared-office365-abc"}
    assert facts.environment_variables == {"new_Empty": None, "new_Region": "US"}
    assert facts.canvas_app_ids_changed == {"new_app_1": ("u1", "u9")}
    assert facts.missing_shares == {"new_app_1": ["g1"]}
    report = validate(facts)
    assert _status(report, "flows-on") == "fail"
    assert _status(report, "custom-connectors-present") == "pass"
