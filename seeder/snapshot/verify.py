"""Checking a snapshot's integrity without its key: hashes, sizes, counts, missing and extra files.

:func:`verify` never raises for damage; every finding is a line in :attr:`VerifyReport.problems` that
names the file or table concerned. It checks:

* ``manifest.json`` against ``manifest.sha256`` (an edited manifest), and that it parses;
* every file the manifest lists: present, same size, same sha256;
* files present but not listed (extra files), and leftovers such as symbolic links;
* row counts: chunk counts add up to the table's; for unencrypted snapshots each chunk is decompressed
  and its lines counted (encrypted chunks are covered by their hash, which needs no key);
* for an incremental, that its parent is present and is the snapshot it was taken against.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from seeder.errors import SnapshotError
from seeder.snapshot.chunks import iter_chunk_lines
from seeder.snapshot.manifest import (
    MANIFEST_FILE,
    MANIFEST_SUM_FILE,
    SCHEMA_FILE,
    Manifest,
    check_component_path,
)

__all__ = ["VerifyReport", "verify"]

_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`: ``ok`` when ``problems`` is empty."""

    path: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    rows: int = 0
    rows_counted: bool = False
    encrypted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "problems": list(self.problems),
            "files_checked": self.files_checked,
            "rows": self.rows,
            "rows_counted": self.rows_counted,
            "encrypted": self.encrypted,
        }


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _load_manifest(path: Path, problems: list[str]) -> Manifest | None:
    try:
        raw = (path / MANIFEST_FILE).read_bytes()
    except OSError:
        problems.append(f"{MANIFEST_FILE}: missing (not a snapshot, or an export that did not finish)")
        return None
    try:
        recorded = (path / MANIFEST_SUM_FILE).read_text(encoding="ascii").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        problems.append(f"{MANIFEST_SUM_FILE}: missing or unreadable")
        recorded = None
    if recorded is not None and recorded != hashlib.sha256(raw).hexdigest():
        problems.append(f"{MANIFEST_FILE}: edited (its sha256 does not match {MANIFEST_SUM_FILE})")
    try:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise SnapshotError(f"{MANIFEST_FILE}: not a JSON object")
        return Manifest.from_dict(data)
    except (orjson.JSONDecodeError, SnapshotError) as exc:
        problems.append(f"{MANIFEST_FILE}: unreadable ({exc})")
        return None


def _safe_relpath(relpath: str) -> bool:
    try:
        check_component_path(relpath)
    except SnapshotError:
        return False
    return True


def _check_files(path: Path, manifest: Manifest, problems: list[str]) -> set[str]:
    """Hash every listed file; returns the relpaths that are intact."""
    intact: set[str] = set()
    for relpath in sorted(manifest.files):
        expected = manifest.files[relpath]
        if not _safe_relpath(relpath):
            problems.append(f"{relpath}: unsafe path in the manifest")
            continue
        target = path / relpath
        if target.is_symlink() or not target.is_file():
            problems.append(f"{relpath}: missing")
            continue
        sha, size = _file_digest(target)
        if size != expected.size:
            problems.append(f"{relpath}: size {size} bytes, the manifest says {expected.size} (truncated or extended)")
        elif sha != expected.sha256:
            problems.append(f"{relpath}: sha256 differs from the manifest (damaged or altered)")
        else:
            intact.add(relpath)
    return intact


def _check_extra(path: Path, manifest: Manifest, problems: list[str]) -> None:
    listed = set(manifest.files) | {MANIFEST_FILE, MANIFEST_SUM_FILE}
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files) + sorted(d for d in dirs if os.path.islink(os.path.join(root, d))):
            relpath = Path(os.path.relpath(os.path.join(root, name), path)).as_posix()
            if relpath not in listed:
                problems.append(f"{relpath}: extra file not listed in the manifest")


def _count_lines(path: Path, relpath: str, problems: list[str]) -> int | None:
    try:
        return sum(1 for _ in iter_chunk_lines(path / relpath, relpath, None))
    except SnapshotError as exc:
        problems.append(str(exc))
        return None


def _check_tables(path: Path, manifest: Manifest, intact: set[str], problems: list[str]) -> int:
    total = 0
    for table in sorted(manifest.tables):
        entry = manifest.tables[table]
        total += entry.rows
        if sum(c.rows for c in entry.chunks) != entry.rows:
            problems.append(f"table {table}: chunk row counts do not add up to {entry.rows}")
        files = [(c.file, c.rows) for c in entry.chunks]
        if entry.tombstone_file is not None:
            files.append((entry.tombstone_file, entry.tombstones))
        for relpath, rows in files:
            if relpath not in manifest.files:
                problems.append(f"table {table}: {relpath} is not listed among the manifest's files")
                continue
            if manifest.encrypted or relpath not in intact:
                continue
            counted = _count_lines(path, relpath, problems)
            if counted is not None and counted != rows:
                problems.append(f"table {table}: {relpath} holds {counted} rows, the manifest says {rows}")
    suffix = ".enc" if manifest.encrypted else ""
    for logical in manifest.components:
        if f"components/{logical}{suffix}" not in manifest.files:
            problems.append(f"component {logical}: not listed among the manifest's files")
    if SCHEMA_FILE not in manifest.files:
        problems.append(f"{SCHEMA_FILE}: not listed in the manifest")
    return total


def _check_parent(path: Path, manifest: Manifest, problems: list[str]) -> None:
    if manifest.parent is None:
        return
    parent = Path(os.path.normpath(path / str(manifest.parent.get("path", ""))))
    try:
        raw = (parent / MANIFEST_FILE).read_bytes()
    except OSError:
        problems.append(f"parent {parent}: missing (this incremental cannot be resolved without it)")
        return
    if hashlib.sha256(raw).hexdigest() != manifest.parent.get("manifest_sha256"):
        problems.append(f"parent {parent}: not the snapshot this incremental was taken against")


def verify(path: Path) -> VerifyReport:
    """Check the snapshot at ``path`` without any key; never raises for damage, reports it."""
    path = Path(path)
    problems: list[str] = []
    if not path.is_dir():
        return VerifyReport(str(path), False, [f"{path}: no snapshot directory there"])
    manifest = _load_manifest(path, problems)
    if manifest is None:
        return VerifyReport(str(path), False, problems)
    intact = _check_files(path, manifest, problems)
    _check_extra(path, manifest, problems)
    rows = _check_tables(path, manifest, intact, problems)
    _check_parent(path, manifest, problems)
    return VerifyReport(
        path=str(path),
        ok=not problems,
        problems=problems,
        files_checked=len(manifest.files),
        rows=rows,
        rows_counted=not manifest.encrypted,
        encrypted=manifest.encrypted,
    )
