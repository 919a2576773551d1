"""Reading a snapshot: manifest, schema, records in primary-id order, tombstones, components, the chain.

``Snapshot.open(path, key)`` checks the manifest against its ``manifest.sha256`` sidecar and, for an
encrypted snapshot given a key, that the key is the right one (by its fingerprint). Opening works without
the key (manifest, schema, counts); reading records or components of an encrypted snapshot needs it.
While records are streamed each chunk's sha256 is checked as well, so a damaged chunk raises
:class:`SnapshotError` (at the latest after its last row) rather than passing silently.

Incremental snapshots: :meth:`Snapshot.records` returns what is stored in this snapshot (for a delta table,
the rows changed since the parent). :meth:`Snapshot.resolved_records` returns the table as it was at the
time of this snapshot: the parent's resolved rows, minus this snapshot's tombstones, overlaid with its
changed rows (a row both changed and tombstoned counts as present). :func:`chain` lists the snapshots
from the full one at the root of the chain to ``path``.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import orjson

from seeder.errors import SnapshotError
from seeder.model import Record, Schema
from seeder.snapshot.chunks import FileDigest, iter_chunk_lines, read_sealed_bytes
from seeder.snapshot.keys import KEY_SIZE, key_id
from seeder.snapshot.manifest import SCHEMA_FILE, Manifest, TableEntry, read_manifest

__all__ = ["Snapshot", "chain"]

_MAX_CHAIN = 1000


class Snapshot:
    """One snapshot directory, opened for reading. Create with :meth:`Snapshot.open`."""

    def __init__(self, path: Path, manifest: Manifest, manifest_sha256: str, key: bytes | None) -> None:
        self.path = path
        self.manifest = manifest
        self.manifest_sha256 = manifest_sha256
        self._key = key

    @classmethod
    def open(cls, path: Path, key: bytes | None = None) -> Snapshot:
        """Open the snapshot at ``path``. A key is checked against the snapshot's key fingerprint."""
        path = Path(path)
        if not path.is_dir():
            raise SnapshotError(f"{path}: no snapshot directory there")
        manifest, digest = read_manifest(path)
        wrong_key = key is not None and (len(key) != KEY_SIZE or key_id(key) != manifest.key_id)
        if manifest.encrypted and wrong_key:
            raise SnapshotError(
                f"{path}: the key given is not the key this snapshot was encrypted with",
                hint=f"the snapshot expects the key with fingerprint {manifest.key_id}",
            )
        return cls(path, manifest, digest, key if manifest.encrypted else None)

    # -- facts -------------------------------------------------------------------------------------------
    @property
    def tables(self) -> list[str]:
        return sorted(self.manifest.tables)

    @property
    def is_incremental(self) -> bool:
        return self.manifest.parent is not None

    @property
    def parent(self) -> Path | None:
        """Where the parent snapshot of an incremental is (``None`` for a full snapshot)."""
        if self.manifest.parent is None:
            return None
        return Path(os.path.normpath(self.path / str(self.manifest.parent["path"])))

    def entry(self, table: str) -> TableEntry:
        try:
            return self.manifest.tables[table]
        except KeyError:
            raise SnapshotError(f"{self.path}: no table {table} in this snapshot") from None

    def rows(self, table: str) -> int:
        """Rows stored for ``table`` in this snapshot (for a delta table: the changed rows)."""
        return self.entry(table).rows

    def resolved_rows(self, table: str) -> int:
        """Rows of ``table`` as it was when this snapshot was taken (streams the chain for delta tables)."""
        entry = self.entry(table)
        if entry.mode != "delta":
            return entry.rows
        return sum(1 for _ in self.resolved_records(table))

    @cached_property
    def schema(self) -> Schema:
        expected = self._expected(SCHEMA_FILE)
        raw = read_sealed_bytes(self.path / SCHEMA_FILE, SCHEMA_FILE, None, expected)
        try:
            return Schema.from_dict(orjson.loads(raw))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"{self.path}: {SCHEMA_FILE} is malformed ({exc})") from None

    # -- data --------------------------------------------------------------------------------------------
    def _expected(self, relpath: str) -> FileDigest:
        entry = self.manifest.files.get(relpath)
        if entry is None:
            raise SnapshotError(f"{self.path}: {relpath} is not listed in the manifest")
        return FileDigest(entry.sha256, entry.size)

    def _data_key(self) -> bytes | None:
        if not self.manifest.encrypted:
            return None
        if self._key is None:
            raise SnapshotError(
                f"{self.path}: the snapshot is encrypted; its data needs the key",
                hint=f"set SEEDER_SNAPSHOT_KEY to the key with fingerprint {self.manifest.key_id}",
            )
        return self._key

    def _lines(self, relpath: str) -> Iterator[bytes]:
        return iter_chunk_lines(self.path / relpath, relpath, self._data_key(), self._expected(relpath))

    def records(self, table: str) -> Iterator[Record]:
        """The records stored for ``table``, in primary-id order (as text)."""
        entry = self.entry(table)
        key = self._data_key()
        for chunk in entry.chunks:
            for line in iter_chunk_lines(self.path / chunk.file, chunk.file, key, self._expected(chunk.file)):
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise SnapshotError(f"{chunk.file}: a line is not valid JSON ({exc})") from None
                yield record

    def tombstones(self, table: str) -> Iterator[str]:
        """Primary ids of rows deleted since the parent (sorted; empty for full tables)."""
        entry = self.entry(table)
        if entry.tombstone_file is None:
            return
        for line in self._lines(entry.tombstone_file):
            yield str(orjson.loads(line))

    def components(self) -> Iterator[tuple[str, bytes]]:
        """Every component as (relative path under ``components/``, bytes), sorted by path."""
        for logical in self.manifest.components:
            yield logical, self.component(logical)

    def component(self, relpath: str) -> bytes:
        if relpath not in self.manifest.components:
            raise SnapshotError(f"{self.path}: no component {relpath}")
        stored = f"components/{relpath}" + (".enc" if self.manifest.encrypted else "")
        return read_sealed_bytes(self.path / stored, stored, self._data_key(), self._expected(stored))

    # -- incremental chain -------------------------------------------------------------------------------
    def open_parent(self) -> Snapshot:
        """The parent snapshot, checked to be the very one this incremental was taken against."""
        parent = self.parent
        if parent is None:
            raise SnapshotError(f"{self.path}: a full snapshot has no parent")
        if not parent.is_dir():
            raise SnapshotError(f"{self.path}: its parent snapshot {parent} is missing",
                                hint="an incremental needs every snapshot of its chain")
        opened = Snapshot.open(parent, self._key)
        assert self.manifest.parent is not None
        if opened.manifest_sha256 != self.manifest.parent.get("manifest_sha256"):
            raise SnapshotError(f"{self.path}: the snapshot at {parent} is not the parent it was taken against")
        return opened

    def resolved_records(self, table: str) -> Iterator[Record]:
        """``table`` as it was when this snapshot was taken, following the chain for delta tables."""
        entry = self.entry(table)
        if entry.mode != "delta":
            yield from self.records(table)
            return
        parent = self.open_parent()
        base: Iterator[Record] = (
            parent.resolved_records(table) if table in parent.manifest.tables else iter(())
        )
        yield from _overlay(base, self.records(table), self.tombstones(table), entry.primary_id)


def _overlay(base: Iterator[Record], changes: Iterator[Record], deleted: Iterator[str],
             primary_id: str) -> Iterator[Record]:
    """Merge sorted streams: changed rows win over base rows with the same id; deleted ids drop base rows."""
    tagged_changes = ((str(r[primary_id]), 0, r) for r in changes)
    tagged_base = ((str(r[primary_id]), 1, r) for r in base)
    pending_delete = next(deleted, None)
    last: str | None = None
    for key, tag, record in heapq.merge(tagged_changes, tagged_base, key=lambda t: (t[0], t[1])):
        if key == last:
            continue
        last = key
        if tag == 0:
            yield record
            continue
        while pending_delete is not None and pending_delete < key:
            pending_delete = next(deleted, None)
        if pending_delete == key:
            continue
        yield record


def chain(path: Path, key: bytes | None = None) -> list[Path]:
    """The snapshots an incremental depends on, from the full snapshot at the root to ``path`` itself."""
    paths: list[Path] = []
    current: Snapshot | None = Snapshot.open(path, key)
    while current is not None:
        if len(paths) >= _MAX_CHAIN or current.path.resolve() in {p.resolve() for p in paths}:
            raise SnapshotError(f"{path}: the chain of parents loops or is too long")
        paths.append(current.path)
        current = current.open_parent() if current.is_incremental else None
    return list(reversed(paths))
