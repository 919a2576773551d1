"""Post-restore validation: Microsoft's post-copy checklist made executable.

:func:`validate` turns :class:`TargetFacts` (what was read from the target after a restore) into a
:class:`ValidationReport` of :class:`Check` records, each ``pass``, ``fail`` or ``warn`` with a hint:
administration mode, background operations, flows on/off, connection references unbound, environment
variables without values, custom connectors missing, canvas app ids and shares, mailboxes. A fact that could
not be read (``None``) is a ``warn`` saying so — never a silent pass.

:func:`facts_from_components` builds the facts from the expected components (the snapshot) and the target's
components (``ComponentSet.from_rows`` of its rows). Reports render as JSON (``to_dict``), JUnit XML
(``to_junit``) and text (``to_text``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from seeder.components.inventory import ComponentSet

__all__ = ["Check", "MailboxFact", "TargetFacts", "ValidationReport", "facts_from_components", "validate"]

STATUSES = ("pass", "warn", "fail")
_LIST_LIMIT = 10


@dataclass(frozen=True)
class MailboxFact:
    """One mailbox: its name and whether incoming, outgoing or appointment/contact/task sync is still on."""

    name: str
    incoming: bool
    outgoing: bool
    act: bool = False


@dataclass(frozen=True)
class TargetFacts:
    """Facts about a restored target. ``None`` means "could not be read"."""

    admin_mode: bool | None = None
    background_operations: bool | None = None
    flows_expected_on: Mapping[str, str] = field(default_factory=dict)   # flow name -> state in target
    flows_expected_off: Mapping[str, str] = field(default_factory=dict)  # flow name -> state in target
    connection_references: Mapping[str, str | None] = field(default_factory=dict)  # logical name -> connection
    environment_variables: Mapping[str, str | None] = field(default_factory=dict)  # schema -> effective value
    custom_connectors_expected: Sequence[str] = ()
    custom_connectors_present: Sequence[str] = ()
    canvas_apps_expected: Sequence[str] = ()
    canvas_apps_present: Mapping[str, str | None] = field(default_factory=dict)  # name -> target App ID
    canvas_app_ids_changed: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (old, new)
    missing_shares: Mapping[str, Sequence[str]] = field(default_factory=dict)  # app -> principals not shared
    canvas_app_ids_remapped: frozenset[str] = frozenset()  # apps whose new id was re-pointed by re-wiring
    mailboxes: Sequence[MailboxFact] | None = None


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    hint: str
    items: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "hint": self.hint, "items": list(self.items)}


@dataclass(frozen=True)
class ValidationReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """No check failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts(), "checks": [c.to_dict() for c in self.checks]}

    def to_text(self) -> str:
        width = max((len(c.name) for c in self.checks), default=0)
        lines = [f"{c.status.upper():4}  {c.name.ljust(width)}  {c.hint}" for c in self.checks]
        counts = self.counts()
        lines.append(f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed")
        return "\n".join(lines) + "\n"

    def to_junit(self, suite: str = "seeder.validation") -> str:
        """JUnit XML: one testcase per check; ``fail`` is a failure, ``warn`` passes with the hint in system-out."""
        counts = self.counts()
        root = etree.Element("testsuites", name=suite, tests=str(len(self.checks)), failures=str(counts["fail"]))
        ts = etree.SubElement(root, "testsuite", name=suite, tests=str(len(self.checks)),
                              failures=str(counts["fail"]), errors="0", skipped="0")
        for check in self.checks:
            case = etree.SubElement(ts, "testcase", classname=suite, name=check.name)
            detail = check.hint + ("\n" + "\n".join(check.items) if check.items else "")
            if check.status == "fail":
                failure = etree.SubElement(case, "failure", message=check.hint, type="fail")
                failure.text = detail
            elif check.status == "warn":
                out = etree.SubElement(case, "system-out")
                out.text = "WARNING: " + detail
        return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True).decode("utf-8")


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LIST_LIMIT])
    return shown + (f" and {len(names) - _LIST_LIMIT} more" if len(names) > _LIST_LIMIT else "")


def _check_flags(facts: TargetFacts) -> list[Check]:
    checks = []
    if facts.admin_mode is None:
        checks.append(Check("administration-mode", "warn", "could not read administration mode; check it in the "
                            "Power Platform admin center (Settings > Administration mode)"))
    elif facts.admin_mode:
        checks.append(Check("administration-mode", "fail", "the environment is still in administration mode; turn "
                            "it off when the copy has been reviewed"))
    else:
        checks.append(Check("administration-mode", "pass", "administration mode is off"))
    if facts.background_operations is None:
        checks.append(Check("background-operations", "warn", "could not read whether background operations run"))
    elif not facts.background_operations:
        checks.append(Check("background-operations", "fail", "background operations are disabled: workflows, "
                            "async jobs and Exchange sync do not run; re-enable them with administration mode"))
    else:
        checks.append(Check("background-operations", "pass", "background operations are enabled"))
    return checks


def _check_components(facts: TargetFacts) -> list[Check]:
    checks = []
    off = sorted(n for n, s in facts.flows_expected_on.items() if s != "on")
    checks.append(Check("flows-on", "fail" if off else "pass",
                        f"{len(off)} flow(s) that were on in the source are off: {_listed(off)}; bind their "
                        "connection references and turn them on" if off
                        else f"{len(facts.flows_expected_on)} flow(s) that were on in the source are on", tuple(off)))
    wrongly_on = sorted(n for n, s in facts.flows_expected_off.items() if s == "on")
    checks.append(Check("flows-off", "warn" if wrongly_on else "pass",
                        f"{len(wrongly_on)} flow(s) that were off in the source are on: {_listed(wrongly_on)}"
                        if wrongly_on else "flows that were off in the source are off", tuple(wrongly_on)))
    unbound = sorted(n for n, c in facts.connection_references.items() if not c)
    checks.append(Check("connection-references-bound", "fail" if unbound else "pass",
                        f"{len(unbound)} connection reference(s) have no connection: {_listed(unbound)}; create "
                        "connections and set them (seeder settings generate)" if unbound
                        else f"{len(facts.connection_references)} connection reference(s) are bound", tuple(unbound)))
    empty = sorted(n for n, v in facts.environment_variables.items() if v in (None, ""))
    checks.append(Check("environment-variables-set", "fail" if empty else "pass",
                        f"{len(empty)} environment variable(s) have no value: {_listed(empty)}; set them in the "
                        "deployment settings" if empty
                        else f"{len(facts.environment_variables)} environment variable(s) have values", tuple(empty)))
    present = {c.lower() for c in facts.custom_connectors_present}
    missing = sorted(c for c in facts.custom_connectors_expected if c.lower() not in present)
    checks.append(Check("custom-connectors-present", "fail" if missing else "pass",
                        f"custom connector(s) missing: {_listed(missing)}; import the solution that holds them "
                        "(or delete and reinstall)" if missing
                        else f"{len(facts.custom_connectors_expected)} custom connector(s) present", tuple(missing)))
    return checks


def _check_apps(facts: TargetFacts) -> list[Check]:
    checks = []
    gone = sorted(a for a in facts.canvas_apps_expected if a not in facts.canvas_apps_present)
    changed = sorted(f"{n}: {old} -> {new}" for n, (old, new) in facts.canvas_app_ids_changed.items())
    if gone:
        checks.append(Check("canvas-app-ids", "fail", f"canvas app(s) missing in the target: {_listed(gone)}",
                            tuple(gone)))
    elif changed and set(facts.canvas_app_ids_changed) <= set(facts.canvas_app_ids_remapped):
        checks.append(Check("canvas-app-ids", "pass", f"{len(changed)} canvas app id(s) changed and were re-pointed "
                            "in the environment; update links kept outside it (bookmarks, Teams tabs)", tuple(changed)))
    elif changed:
        checks.append(Check("canvas-app-ids", "warn", f"{len(changed)} canvas app id(s) changed; update anything "
                            "that stores app ids (deep links, embedded apps, environment variables)", tuple(changed)))
    else:
        checks.append(Check("canvas-app-ids", "pass",
                            f"{len(facts.canvas_apps_expected)} canvas app(s) present with their ids"))
    unshared = sorted(f"{app}: {p}" for app, ps in facts.missing_shares.items() for p in ps)
    checks.append(Check("canvas-app-shares", "fail" if unshared else "pass",
                        f"{len(unshared)} share(s) recorded in the source are missing (apps shared with Everyone "
                        "lose that share on restore); share them again" if unshared
                        else "canvas app shares match the source", tuple(unshared)))
    if facts.mailboxes is None:
        checks.append(Check("mailboxes", "warn", "mailboxes were not checked; a mailbox cannot sync to two "
                            "environments — set incoming, outgoing and appointments/contacts/tasks sync to None"))
    else:
        syncing = sorted(m.name for m in facts.mailboxes if m.incoming or m.outgoing or m.act)
        checks.append(Check("mailboxes", "fail" if syncing else "pass",
                            f"{len(syncing)} mailbox(es) still sync with Exchange: {_listed(syncing)}; set "
                            "incoming, outgoing and appointments/contacts/tasks to None" if syncing
                            else f"none of {len(facts.mailboxes)} mailbox(es) syncs", tuple(syncing)))
    return checks


def validate(facts: TargetFacts) -> ValidationReport:
    """Run every check; the order is the checklist's order."""
    return ValidationReport(tuple(_check_flags(facts) + _check_components(facts) + _check_apps(facts)))


def facts_from_components(expected: ComponentSet, target: ComponentSet, *, admin_mode: bool | None = None,
                          background_operations: bool | None = None,
                          mailboxes: Sequence[MailboxFact] | None = None) -> TargetFacts:
    """Facts for :func:`validate` from the snapshot's components and the target's (read back after re-wiring)."""
    target_flows = {f.id: f for f in target.flows}
    expected_on = {f.name: target_flows[f.id].state if f.id in target_flows else "missing"
                   for f in expected.flows if f.state == "on"}
    expected_off = {f.name: target_flows[f.id].state if f.id in target_flows else "missing"
                    for f in expected.flows if f.state != "on"}
    refs = {c.logical_name.lower(): c for c in target.connection_references}
    env = {e.schema_name.lower(): e for e in target.environment_variables}
    apps = {a.name.lower(): a for a in target.canvas_apps}
    changed: dict[str, tuple[str, str]] = {}
    shares: dict[str, list[str]] = {}
    for app in expected.canvas_apps:
        there = apps.get(app.name.lower())
        if there is None:
            continue
        if app.unique_app_id and there.unique_app_id and app.unique_app_id != there.unique_app_id:
            changed[app.name] = (app.unique_app_id, there.unique_app_id)
        lost = sorted(set(app.shared_with) - set(there.shared_with))
        if lost:
            shares[app.name] = lost
    return TargetFacts(
        admin_mode=admin_mode, background_operations=background_operations,
        flows_expected_on=expected_on, flows_expected_off=expected_off,
        connection_references={c.logical_name: (refs[c.logical_name.lower()].connection_id
                                                if c.logical_name.lower() in refs else None)
                               for c in expected.connection_references},
        environment_variables={e.schema_name: (env[e.schema_name.lower()].effective_value
                                               if e.schema_name.lower() in env else None)
                               for e in expected.environment_variables if e.type != 100000004},
        custom_connectors_expected=[c.name for c in expected.custom_connectors],
        custom_connectors_present=[c.name for c in target.custom_connectors],
        canvas_apps_expected=[a.name for a in expected.canvas_apps if a.packaged],
        canvas_apps_present={a.name: a.unique_app_id for a in target.canvas_apps},
        canvas_app_ids_changed=changed, missing_shares=shares, mailboxes=mailboxes,
    )
