"""What a restore did (or, in a dry run, would do): per-table counts, failures with their Dataverse
errors, deferred lookups, reference-data matches and the verification of target against snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RestoreReport", "TableResult"]


@dataclass
class TableResult:
    written: int = 0
    failed: int = 0
    linked: int = 0
    associated: int = 0
    state_set: int = 0
    deleted: int = 0
    skipped: int = 0
    would_create: int = 0
    would_update: int = 0
    would_delete: int = 0
    unchanged: int = 0
    verified: str | None = None
    """``match`` when the target's rows equal the snapshot's, otherwise what differs."""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v or k in ("written", "failed")}


@dataclass
class RestoreReport:
    snapshot: str
    target: dict[str, Any]
    mode: str
    dry_run: bool = False
    tables: dict[str, TableResult] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    references: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What a restore leaves out by design (for example N:N links to matched reference data)."""
    resumed: bool = False
    seconds: float = 0.0
    journal: str = ""

    def table(self, name: str) -> TableResult:
        return self.tables.setdefault(name, TableResult())

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def written(self) -> int:
        return sum(t.written for t in self.tables.values())

    @property
    def verified(self) -> bool:
        checked = [t.verified for t in self.tables.values() if t.verified is not None]
        return all(v == "match" for v in checked)

    @property
    def safe(self) -> bool:
        """For a dry run: nothing is predicted to fail."""
        unmatched = self.references.get("unmatched", {})
        return not self.problems and not any(unmatched.get(t) for t in ("transactioncurrency", "businessunit"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "target": self.target,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "written": self.written,
            "failed": self.failed,
            "verified": self.verified,
            "safe": self.safe,
            "tables": {name: t.to_dict() for name, t in sorted(self.tables.items())},
            "failures": self.failures,
            "deferred": self.deferred,
            "references": self.references,
            "selection": self.selection,
            "problems": self.problems,
            "notes": self.notes,
            "journal": self.journal,
            "seconds": round(self.seconds, 3),
        }

    def to_text(self) -> str:
        t = self.target
        verb = "Dry run against" if self.dry_run else "Restored into"
        lines = [f"{verb} {t.get('name')} ({t.get('organization_id')}) from {self.snapshot}, mode {self.mode}"]
        for name, r in sorted(self.tables.items()):
            if self.dry_run:
                lines.append(f"  {name:<32} create {r.would_create:>7}  update {r.would_update:>7}  "
                              f"unchanged {r.unchanged:>7}  delete {r.would_delete:>5}")
            else:
                extra = "".join(f"  {k} {v}" for k, v in (("linked", r.linked), ("associated", r.associated),
                                                          ("state", r.state_set), ("deleted", r.deleted),
                                                          ("left alone", r.skipped)) if v)
                check = f"  [{r.verified}]" if r.verified else ""
                lines.append(f"  {name:<32} written {r.written:>7}  failed {r.failed:>5}{extra}{check}")
        for d in self.deferred:
            lines.append(f"  deferred {d['table']}.{d['column']} → {', '.join(d['targets'])} (set in a link step)")
        unmatched = self.references.get("unmatched", {})
        for table, n in unmatched.items():
            lines.append(f"  {n} {table} row(s) not found in the target"
                         + (" (owners moved to the default owner)" if table in ("systemuser", "team") else ""))
        for p in self.problems:
            lines.append(f"  problem: {p}")
        for n in self.notes:
            lines.append(f"  note: {n}")
        for f in self.failures[:20]:
            lines.append(f"  failed {f['action']} {f['table']}({f['id']}): {f.get('code') or ''} {f.get('message')}")
        if self.failed > 20:
            lines.append(f"  ... and {self.failed - 20} more failures (see the JSON report)")
        lines.append(f"{self.written} rows written, {self.failed} failed in {self.seconds:.1f}s")
        return "\n".join(lines)
