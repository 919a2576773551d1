"""``seeder clone``: export → mask → restore → re-wire → validate, composed from the verbs.

Every stage hands a snapshot to the next inside ``workdir`` (``source/`` as exported, ``masked/`` as it
will be written), so a stage that already finished is not repeated when the clone runs again with
``resume=True``, and the restore itself resumes from its journal. Masking is mandatory unless the caller
says ``no_mask=True`` explicitly. Component rows travel with the data but flows stay off while data loads
(seeding must not send e-mail); re-wiring then binds connection references, sets environment variables,
turns flows on child-first and stops mailbox synchronisation; when that went cleanly, administration mode
is lifted and background operations re-enabled (``keep_admin_mode`` leaves them for a manual review); the
post-copy checklist then validates the result.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seeder import export as export_verb
from seeder import mask as mask_verb
from seeder import restore as restore_verb
from seeder import wiring
from seeder.components import DeploymentSettings, ValidationReport
from seeder.dataverse import Environment
from seeder.describe import components_of
from seeder.errors import MaskingError, SafetyError
from seeder.snapshot import Snapshot, verify

__all__ = ["CloneOptions", "CloneReport", "clone"]

Progress = Callable[[str, str], None]
SOLUTION_ONLY_TABLES = ("canvasapp", "solution", "solutioncomponent")
"""Component tables the Web API cannot write as rows: they arrive with the solution in the target."""


@dataclass(frozen=True)
class CloneOptions:
    workdir: Path
    rules: Path | None = None
    mask_key: bytes | None = None
    no_mask: bool = False
    subset: Path | None = None
    settings: Path | None = None
    tables: tuple[str, ...] | None = None
    allow_production: bool = False
    resume: bool = False
    batch_size: int = 100
    keep_source_export: bool = False
    """Keep the unmasked export in ``workdir/source`` (by default it is deleted once the data is restored)."""
    keep_admin_mode: bool = False
    """Leave the target in administration mode for a manual review (lifted by default once re-wiring is clean)."""


@dataclass
class CloneReport:
    source: dict[str, Any] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    validation: ValidationReport | None = None
    records_copied: int = 0
    records_failed: int = 0
    columns_masked: int = 0
    flows_turned_on: int = 0
    seconds: float = 0.0

    verified: bool = True

    @property
    def ok(self) -> bool:
        return (self.records_failed == 0 and self.verified
                and (self.validation is None or self.validation.ok))

    def to_dict(self) -> dict[str, Any]:
        checks = self.validation.to_dict()["checks"] if self.validation else []
        return {
            "ok": self.ok,
            "source": self.source,
            "target": self.target,
            "summary": {"records_copied": self.records_copied, "records_failed": self.records_failed,
                        "verified": self.verified,
                        "columns_masked": self.columns_masked, "flows_turned_on": self.flows_turned_on,
                        "seconds": round(self.seconds, 3)},
            "checks": checks,
            "stages": self.stages,
        }

    def summary_text(self) -> str:
        return (f"{self.records_copied} records copied ({self.records_failed} failed), {self.columns_masked} "
                f"columns masked, {self.flows_turned_on} flows turned on, in {self.seconds:.1f}s")


def _done(path: Path) -> bool:
    return (path / "manifest.json").is_file() and verify(path).ok


def clone(source: Environment, target: Environment, options: CloneOptions,
          progress: Progress | None = None) -> CloneReport:
    """Clone ``source`` into ``target`` as ``options`` say; return every stage's report and the validation."""
    say = progress or (lambda _e, _t: None)
    started = time.monotonic()
    if not options.no_mask and (options.rules is None or options.mask_key is None):
        raise MaskingError("a clone masks data before it reaches the target, and no rule set or key was given",
                           hint="pass --rules FILE and set SEEDER_MASK_KEY, or --no-mask to copy unmasked data")
    report = CloneReport()
    org = target.org_info()
    report.target = {"name": org.name, "organization_id": org.organization_id, "url": org.url}
    if org.needs_override and not options.allow_production:
        kind = org.environment_type or 'unknown'
        raise SafetyError(f"the clone target {org.name} ({org.organization_id}) is a {kind} "
                          "environment, not a sandbox",
                          hint="clone into a sandbox, or pass --allow-production")
    src = source.org_info()
    report.source = {"name": src.name, "organization_id": src.organization_id, "url": src.url}
    options.workdir.mkdir(parents=True, exist_ok=True)
    raw, masked = options.workdir / "source", options.workdir / "masked"

    # 1. export
    if options.resume and (_done(raw) or (not options.no_mask and _done(masked))):
        report.stages["export"] = {"reused": str(raw if raw.exists() else masked)}
    else:
        if raw.exists():
            shutil.rmtree(raw)
        say("stage", f"export {src.name} → {raw}")
        subset = export_verb.load_subset(options.subset) if options.subset else None
        exported = export_verb.export(source, raw, export_verb.ExportOptions(tables=options.tables, subset=subset))
        report.stages["export"] = exported.to_dict()

    # 2. mask
    data_snapshot = raw
    if not options.no_mask:
        assert options.rules is not None and options.mask_key is not None
        if options.resume and _done(masked):
            report.stages["mask"] = {"reused": str(masked)}
        else:
            if masked.exists():
                shutil.rmtree(masked)
            say("stage", f"mask with {options.rules}")
            masking = mask_verb.mask_snapshot(raw, masked, rules=options.rules, key=options.mask_key)
            report.stages["mask"] = masking.to_dict()
        report.columns_masked = _columns_masked(report.stages["mask"])
        data_snapshot = masked

    # 3. keep flows off, then restore data (component rows included, flows written off)
    components = components_of(data_snapshot)
    settings = DeploymentSettings.load(options.settings) if options.settings else None
    imported = wiring.import_missing_solutions(target, Snapshot.open(data_snapshot), settings, progress=say)
    say("stage", "restore the masked snapshot" if not options.no_mask else "restore the snapshot")
    before = wiring.rewire(target, components, settings, phase="before-data", progress=say)
    before.done[:0] = imported.done
    before.findings[:0] = imported.findings
    restored = restore_verb.restore(
        target, data_snapshot,
        restore_verb.RestoreOptions(resume=options.resume, allow_production=options.allow_production,
                                    batch_size=options.batch_size, journal=options.workdir / "restore.journal.sqlite",
                                    state_exempt=("workflow",), skip_tables=SOLUTION_ONLY_TABLES),
        progress=say)
    report.stages["restore"] = restored.to_dict()
    report.records_copied, report.records_failed = restored.written, restored.failed
    report.verified = restored.verified
    if not options.keep_source_export and not options.no_mask:
        shutil.rmtree(raw, ignore_errors=True)  # the unmasked production export is not kept lying around
        report.stages["export"]["removed"] = True

    # 4. re-wire: settings from the file, else matched from the target's connections
    if settings is None or settings.unresolved():
        proposal = wiring.generate_settings(target, components, settings)
        settings = proposal.settings
        report.stages["settings"] = proposal.to_dict()
    say("stage", "re-wire connection references, environment variables and flows")
    after = wiring.rewire(target, components, settings, phase="after-data", progress=say)
    report.stages["rewire"] = {"before_data": before.to_dict(), "after_data": after.to_dict()}
    report.flows_turned_on = after.flows_turned_on
    blocking = [f for f in (*before.findings, *after.findings) if f.severity == "error"]
    if options.keep_admin_mode:
        report.stages["admin_mode"] = {"kept": True}
    elif blocking or restored.failed or not restored.verified:
        why = (f"{restored.failed} row(s) failed" if restored.failed else "the target differs from the snapshot"
               if not restored.verified else f"{len(blocking)} re-wiring error(s)")
        report.stages["admin_mode"] = {"kept": True, "reason": f"{why}: review before users come in"}
    else:
        say("stage", "lift administration mode and re-enable background operations")
        report.stages["admin_mode"] = wiring.lift_admin_mode(target)

    # 5. validate
    say("stage", "validate")
    report.validation = wiring.validate_target(target, components, remapped_apps=after.remapped_apps)
    report.seconds = time.monotonic() - started
    return report


def _columns_masked(mask_report: dict[str, Any]) -> int:
    columns = mask_report.get("columns")
    if isinstance(columns, list):
        return len(columns)
    if isinstance(columns, dict):
        return sum(len(v) if isinstance(v, (list, dict)) else 1 for v in columns.values())
    return int(mask_report.get("columns_masked", 0))

