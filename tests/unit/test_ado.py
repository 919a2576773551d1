"""Azure DevOps logging commands: escaping as the pipeline task library does it, and no secret echoed."""

from __future__ import annotations

from seeder.ado import AdoLogger, in_azure_pipelines, vso


def test_detection() -> None:
    assert in_azure_pipelines({"TF_BUILD": "True"})
    assert not in_azure_pipelines({})


def test_messages_and_properties_are_escaped() -> None:
    line = vso("task.logissue", "50% done\r\nnext", type="warning", sourcepath="a;b]c")
    assert line == "##vso[task.logissue type=warning;sourcepath=a%3Bb%5Dc]50%AZP25 done%0D%0Anext"


def test_issue_progress_groups_and_junit() -> None:
    ado = AdoLogger()
    expected = "##vso[task.logissue type=warning]column contact.fax not covered"
    assert ado.issue("column contact.fax not covered") == expected
    assert ado.issue("boom", error=True).startswith("##vso[task.logissue type=error]")
    assert ado.progress(140, "restore") == "##vso[task.setprogress value=100]restore"
    assert ado.group("Export account") == "##[group]Export account"
    assert ado.endgroup() == "##[endgroup]"
    assert ado.publish_junit("out/v.xml", "seeder") == (
        "##vso[results.publish type=JUnit;resultFiles=out/v.xml;testRunTitle=seeder;mergeResults=false]")


def test_messages_never_carry_tokens() -> None:
    line = AdoLogger().issue("request failed: Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl")
    assert "eyJzdWIiOi" not in line
