"""Listing the snapshots under a root directory and pruning them by a retention policy.

A policy keeps the newest ``keep_last`` snapshots, plus the newest snapshot of each of the most recent
``keep_daily`` days, ``keep_weekly`` ISO weeks, ``keep_monthly`` months and ``keep_yearly`` years (all
in UTC, by the manifest's ``created`` time). Every snapshot that a kept incremental depends on is kept
too, transitively, so pruning never breaks a chain. Directories without a readable, checksummed
manifest (interrupted exports, anything unknown) are never listed and never touched.

Deletion first renames a snapshot to ``NAME.partial-deleting-*`` (so a crash mid-way never leaves
something that looks like a complete snapshot) and then removes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seeder.errors import SnapshotError, UsageError
from seeder.snapshot.manifest import read_manifest

__all__ = ["PruneReport", "Retention", "SnapshotInfo", "list_snapshots", "prune"]


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot found under a root directory."""

    path: Path
    created: datetime
    incremental: bool
    parent: Path | None
    size: int
    rows: int
    encrypted: bool
    masked: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "created": self.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kind": "incremental" if self.incremental else "full",
            "parent": str(self.parent) if self.parent is not None else None,
            "size": self.size,
            "rows": self.rows,
            "encrypted": self.encrypted,
            "masked": self.masked,
        }


@dataclass(frozen=True)
class Retention:
    """How many snapshots to keep per period; at least one count must be positive."""

    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    keep_last: int = 0

    def __post_init__(self) -> None:
        counts = (self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly, self.keep_last)
        if any(c < 0 for c in counts):
            raise UsageError("retention counts cannot be negative")
        if not any(counts):
            raise UsageError("a retention policy must keep something",
                             hint="give at least one of --keep-daily/--keep-weekly/--keep-monthly/--keep-yearly")


@dataclass(frozen=True)
class PruneReport:
    """What :func:`prune` kept and deleted (or would delete with ``dry_run``), and why each was kept."""

    kept: list[Path]
    deleted: list[Path]
    reasons: dict[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kept": [str(p) for p in self.kept],
            "deleted": [str(p) for p in self.deleted],
            "reasons": {k: list(v) for k, v in sorted(self.reasons.items())},
            "dry_run": self.dry_run,
        }


def _parse_created(text: str) -> datetime:
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def list_snapshots(root: Path) -> list[SnapshotInfo]:
    """Every complete snapshot directly under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        raise SnapshotError(f"{root}: no such directory")
    found: list[SnapshotInfo] = []
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.is_symlink() or ".partial-" in child.name:
            continue
        try:
            manifest, _ = read_manifest(child)
            created = _parse_created(manifest.created)
        except (SnapshotError, ValueError):
            continue
        parent = None
        if manifest.parent is not None:
            parent = Path(os.path.normpath(child / str(manifest.parent.get("path", ""))))
        found.append(SnapshotInfo(
            path=child,
            created=created,
            incremental=manifest.incremental,
            parent=parent,
            size=manifest.total_size,
            rows=manifest.total_rows,
            encrypted=manifest.encrypted,
            masked=bool(manifest.masking.get("masked", False)),
        ))
    found.sort(key=lambda s: (s.created, s.path.name))
    return found


def _bucket_rules(policy: Retention) -> list[tuple[str, int, Callable[[datetime], str]]]:
    return [
        ("daily", policy.keep_daily, lambda d: d.strftime("%Y-%m-%d")),
        ("weekly", policy.keep_weekly, lambda d: "{}-W{:02d}".format(*d.isocalendar()[:2])),
        ("monthly", policy.keep_monthly, lambda d: d.strftime("%Y-%m")),
        ("yearly", policy.keep_yearly, lambda d: d.strftime("%Y")),
    ]


def plan_retention(snapshots: list[SnapshotInfo], policy: Retention) -> dict[Path, list[str]]:
    """Which snapshots to keep (absolute paths) and why; everything else may go."""
    newest_first = sorted(snapshots, key=lambda s: (s.created, s.path.name), reverse=True)
    reasons: dict[Path, list[str]] = {}
    for info in newest_first[: policy.keep_last]:
        reasons.setdefault(info.path.resolve(), []).append("last")
    for label, count, bucket_of in _bucket_rules(policy):
        seen: list[str] = []
        for info in newest_first:
            if len(seen) >= count:
                break
            bucket = bucket_of(info.created)
            if bucket in seen:
                continue
            seen.append(bucket)
            reasons.setdefault(info.path.resolve(), []).append(f"{label} {bucket}")
    by_path = {s.path.resolve(): s for s in snapshots}
    pending = list(reasons)
    while pending:
        current = by_path.get(pending.pop())
        if current is None or current.parent is None:
            continue
        parent = current.parent.resolve()
        if parent not in by_path:
            continue
        if parent not in reasons:
            pending.append(parent)
        reasons.setdefault(parent, []).append(f"parent of {current.path.name}")
    return reasons


def prune(root: Path, policy: Retention, dry_run: bool = False) -> PruneReport:
    """Delete the snapshots under ``root`` that ``policy`` does not keep (nothing is deleted with ``dry_run``)."""
    snapshots = list_snapshots(root)
    keep = plan_retention(snapshots, policy)
    kept = [s.path for s in snapshots if s.path.resolve() in keep]
    doomed = [s.path for s in snapshots if s.path.resolve() not in keep]
    reasons = {str(s.path): keep[s.path.resolve()] for s in snapshots if s.path.resolve() in keep}
    if not dry_run:
        for path in doomed:
            holding = Path(tempfile.mkdtemp(prefix=f"{path.name}.partial-deleting-", dir=path.parent))
            os.replace(path, holding / path.name)
            shutil.rmtree(holding)
    return PruneReport(kept=kept, deleted=doomed, reasons=reasons, dry_run=dry_run)
