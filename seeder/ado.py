"""Azure DevOps pipeline logging commands (``##vso[...]``), used when ``TF_BUILD`` is set.

Pure string formatting with the escaping the Azure Pipelines task library applies: in messages ``%`` →
``%AZP25``, CR → ``%0D``, LF → ``%0A``; property values also escape ``]`` → ``%5D`` and ``;`` → ``%3B``.
The CLI prints these lines; nothing here writes anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

from seeder.errors import redact

__all__ = ["AdoLogger", "in_azure_pipelines", "vso"]


def in_azure_pipelines(env: Mapping[str, str]) -> bool:
    """True inside an Azure Pipelines job (the agent sets ``TF_BUILD=True``)."""
    return env.get("TF_BUILD", "").lower() == "true"


def _data(text: str) -> str:
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace("]", "%5D").replace(";", "%3B")


def vso(command: str, message: str = "", **props: object) -> str:
    """One logging command line, e.g. ``vso("task.logissue", "x", type="warning")``."""
    rendered = ";".join(f"{k}={_prop(str(v))}" for k, v in props.items() if v is not None)
    return f"##vso[{command}{' ' + rendered if rendered else ''}]{_data(redact(message))}"


class AdoLogger:
    """Builds the lines a pipeline understands: issues, progress, groups, secrets and test results."""

    def issue(self, message: str, *, error: bool = False) -> str:
        return vso("task.logissue", message, type="error" if error else "warning")

    def progress(self, percent: int, label: str) -> str:
        return vso("task.setprogress", label, value=max(0, min(100, percent)))

    def group(self, title: str) -> str:
        return f"##[group]{_data(title)}"

    def endgroup(self) -> str:
        return "##[endgroup]"

    def secret(self, value: str) -> str:
        """Ask the agent to mask ``value`` in every later log line (the value itself is not echoed back)."""
        return f"##vso[task.setsecret]{_data(value)}"

    def publish_junit(self, path: str, title: str) -> str:
        return vso("results.publish", "", type="JUnit", resultFiles=path, testRunTitle=title, mergeResults="false")

    def complete(self, ok: bool, message: str = "") -> str:
        return vso("task.complete", message, result="Succeeded" if ok else "SucceededWithIssues")
