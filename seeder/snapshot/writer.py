"""Writing a snapshot: streaming, sorted by primary id, in bounded memory, finalised atomically.

Everything is written into a sibling work directory ``DIR.partial-<random>``; ``close()`` writes
``schema.json``, ``manifest.json`` and ``manifest.sha256`` and only then renames the work directory to
``DIR``. A crash or an exception therefore never leaves a ``DIR`` that looks complete (an interrupted
``DIR.partial-*`` has no manifest and is ignored by readers, ``verify`` and retention).

Rows may arrive in any order. While they arrive in increasing primary-id order they go straight into the
final chunks (the cheap path); on the first row out of order the chunks written so far become a sorted
run and the rest is sorted externally (:mod:`seeder.snapshot.tables`, :mod:`seeder.snapshot.sorting`)
before being written out.

What is encrypted when a key is given: every data chunk, tombstone file and component (component data
can hold secrets such as environment-variable values). ``schema.json`` and ``manifest.json`` stay
readable: they hold table and column metadata, counts and hashes, no row data, and ``verify`` and
``snapshots list`` need them without the key.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from seeder.__about__ import __version__
from seeder.errors import SnapshotError, UsageError
from seeder.model import OrgInfo, Record, Schema
from seeder.snapshot.chunks import ChunkWriter, FileDigest
from seeder.snapshot.keys import KEY_SIZE, key_id
from seeder.snapshot.manifest import (
    MANIFEST_FILE,
    MANIFEST_SUM_FILE,
    SCHEMA_FILE,
    FileEntry,
    Manifest,
    TableEntry,
    check_component_path,
    check_table_name,
    read_manifest,
)
from seeder.snapshot.reader import Snapshot
from seeder.snapshot.sorting import KeyOf
from seeder.snapshot.tables import (
    TMP_DIR,
    ChunkSequence,
    ChunkTarget,
    JsonStringKey,
    ProgressCallback,
    write_sorted,
)

__all__ = ["SnapshotWriter"]


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _tool_versions() -> dict[str, str]:
    try:
        faker_version = importlib.metadata.version("faker")
    except importlib.metadata.PackageNotFoundError:
        faker_version = "not installed"
    return {"seeder": __version__, "faker": faker_version}


class SnapshotWriter:
    """Writes one snapshot directory. Use as a context manager; ``close()`` finalises atomically.

    ``parent`` makes an incremental snapshot: tables written with :meth:`write_table` are then deltas
    (changed rows) unless ``delta=False``, :meth:`write_tombstones` records deleted ids, and
    :meth:`reuse_table` hard-links (or copies) unchanged chunks. ``masking`` is stored as the manifest's
    masking state (``{"masked": True, **masking}``). ``overwrite`` replaces an existing snapshot at ``path``.
    """

    def __init__(
        self,
        path: Path,
        *,
        schema: Schema,
        source: OrgInfo | None,
        key: bytes | None = None,
        chunk_rows: int = 50_000,
        parent: Path | None = None,
        masking: dict[str, Any] | None = None,
        overwrite: bool = False,
        created: datetime | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.path = Path(path)
        if chunk_rows < 1:
            raise UsageError("chunk_rows must be at least 1")
        if key is not None and len(key) != KEY_SIZE:
            raise UsageError(f"a snapshot key must be {KEY_SIZE} bytes")
        if self.path.exists() and not overwrite:
            raise SnapshotError(f"{self.path} already exists; refusing to overwrite it",
                                hint="choose a new directory, or ask explicitly to overwrite")
        self.schema = schema
        self.chunk_rows = chunk_rows
        self._key = key
        self._source = source
        self._masking: dict[str, Any] = {"masked": False} if masking is None else {"masked": True, **masking}
        self._overwrite = overwrite
        self._created = _utc_iso(created or datetime.now(UTC))
        self._progress = progress
        self._parent_path = Path(parent) if parent is not None else None
        self._parent_link: dict[str, Any] | None = None
        if self._parent_path is not None:
            parent_manifest, parent_sha = read_manifest(self._parent_path)
            if parent_manifest.key_id != (key_id(key) if key is not None else None):
                raise SnapshotError(
                    "an incremental snapshot must use the same encryption key as its parent",
                    hint="pass the parent's key, or take a full snapshot",
                )
            relative = os.path.relpath(self._parent_path.resolve(), self.path.resolve())
            self._parent_link = {"path": Path(relative).as_posix(), "manifest_sha256": parent_sha}
        self._tables: dict[str, TableEntry] = {}
        self._tombstones: dict[str, tuple[str, int]] = {}
        self._components: list[str] = []
        self._failed = False
        self._done = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._work = Path(tempfile.mkdtemp(prefix=f"{self.path.name}.partial-", dir=self.path.parent))
        self._target = ChunkTarget(self._work, key, chunk_rows)
        self._files = self._target.files

    # -- context manager ---------------------------------------------------------------------------
    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._done:
            self.close()

    # -- helpers -------------------------------------------------------------------------------------
    def _record_file(self, relpath: str, digest: FileDigest) -> None:
        self._files[relpath] = FileEntry(digest.sha256, digest.size)

    def _check_open(self) -> None:
        if self._done:
            raise SnapshotError(f"{self.path}: the snapshot writer is already closed")
        if self._failed:
            raise SnapshotError(f"{self.path}: an earlier write failed; the snapshot cannot be completed")

    def _primary_id(self, table: str) -> str:
        definition = self.schema.get(table)
        if definition is None:
            raise SnapshotError(f"table {table} is not in the snapshot's schema")
        return definition.primary_id

    # -- writing ---------------------------------------------------------------------------------------
    def write_table(self, table: str, records: Iterable[Record], *, delta: bool | None = None) -> int:
        """Store every record of ``table`` (any order in; chunks sorted by primary id out). Returns the count.

        In an incremental snapshot the records are the rows changed since the parent (``delta``), unless
        ``delta=False`` says they are the complete table. A primary id occurring twice is an error.
        """
        self._check_open()
        check_table_name(table)
        if table in self._tables:
            raise SnapshotError(f"table {table} was already written to this snapshot")
        if delta and self._parent_path is None:
            raise UsageError("delta tables need an incremental snapshot (a parent)")
        primary_id = self._primary_id(table)
        mode = "delta" if self._parent_path is not None and delta is not False else "full"
        if mode == "full" and table in self._tombstones:
            raise SnapshotError(f"{table} has tombstones; it cannot also be written as a full table")

        def pairs() -> Iterator[tuple[str, bytes]]:
            for record in records:
                try:
                    value = record[primary_id]
                except (KeyError, TypeError):
                    value = None
                if value is None:
                    raise SnapshotError(f"{table}: a record has no primary id ({primary_id})")
                key = str(value)
                try:
                    line = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
                except (orjson.JSONEncodeError, TypeError) as exc:
                    raise SnapshotError(f"{table} {key}: the record cannot be stored as JSON ({exc})") from None
                yield key, line

        out = ChunkSequence(self._target, table)
        try:
            write_sorted(self._target, table, pairs(), out, KeyOf(primary_id), unique=True,
                         progress=self._progress)
            chunks = out.close()
        except BaseException:
            out.abort()
            self._failed = True
            raise
        rows = sum(c.rows for c in chunks)
        self._tables[table] = TableEntry(rows=rows, primary_id=primary_id, chunks=tuple(chunks), mode=mode)
        return rows

    def write_tombstones(self, table: str, ids: Iterable[str]) -> int:
        """Record rows of ``table`` deleted since the parent (incremental snapshots only). Returns the count."""
        self._check_open()
        check_table_name(table)
        if self._parent_path is None:
            raise SnapshotError("tombstones belong in an incremental snapshot (give the writer a parent)")
        if table in self._tombstones:
            raise SnapshotError(f"tombstones of {table} were already written")
        entry = self._tables.get(table)
        if entry is not None and entry.mode != "delta":
            raise SnapshotError(f"{table} was written as a full table; tombstones only apply to deltas")
        self._primary_id(table)
        out = ChunkSequence(self._target, table, single="tombstones.jsonl.zst")
        pairs = ((str(i), orjson.dumps(str(i))) for i in ids)
        try:
            write_sorted(self._target, table, pairs, out, JsonStringKey(), unique=False, progress=self._progress)
            chunks = out.close()
        except BaseException:
            out.abort()
            self._failed = True
            raise
        if chunks:
            self._tombstones[table] = (chunks[0].file, chunks[0].rows)
        else:
            self._tombstones[table] = ("", 0)
        return chunks[0].rows if chunks else 0

    def write_component(self, relpath: str, data: bytes) -> None:
        """Store ``data`` as ``components/<relpath>`` (encrypted when the snapshot is)."""
        self._check_open()
        logical = check_component_path(relpath)
        if logical in self._components:
            raise SnapshotError(f"component {logical} was already written")
        stored = self._target.stored(f"components/{logical}")
        fs_path = self._work / stored
        fs_path.parent.mkdir(parents=True, exist_ok=True)
        writer = ChunkWriter(fs_path, stored, self._key, compress=False)
        try:
            writer.write_bytes(bytes(data))
            self._record_file(stored, writer.close())
        except BaseException:
            writer.abort()
            self._failed = True
            raise
        self._components.append(logical)

    def reuse_table(self, table: str, from_snapshot: Snapshot) -> None:
        """Take ``table`` unchanged from ``from_snapshot``: its chunk files are hard-linked (copied when
        links are impossible), so an incremental costs nothing for tables that did not change.

        A table that is itself a delta in ``from_snapshot`` can only be reused from this snapshot's parent;
        it is then recorded as an empty delta (no change since the parent).
        """
        self._check_open()
        check_table_name(table)
        if table in self._tables:
            raise SnapshotError(f"table {table} was already written to this snapshot")
        source = from_snapshot.manifest
        entry = source.tables.get(table)
        if entry is None:
            raise SnapshotError(f"{from_snapshot.path} has no table {table} to reuse")
        if source.key_id != (key_id(self._key) if self._key is not None else None):
            raise SnapshotError(f"cannot reuse {table}: {from_snapshot.path} is encrypted differently",
                                hint="write the table again instead")
        if entry.mode == "delta":
            parent = self._parent_path.resolve() if self._parent_path is not None else None
            if parent != from_snapshot.path.resolve():
                raise SnapshotError(f"{table} is a delta in {from_snapshot.path}; only the parent's deltas "
                                    "can be reused")
            self._tables[table] = TableEntry(rows=0, primary_id=entry.primary_id, mode="delta")
            return
        for chunk in entry.chunks:
            expected = source.files.get(chunk.file)
            if expected is None:
                raise SnapshotError(f"{from_snapshot.path}: {chunk.file} is not listed in its manifest")
            src = from_snapshot.path / chunk.file
            dst = self._work / chunk.file
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copyfile(src, dst)
            except OSError as exc:
                self._failed = True
                raise SnapshotError(f"cannot reuse {chunk.file} from {from_snapshot.path}: {exc.strerror}") from None
            if dst.stat().st_size != expected.size:
                self._failed = True
                raise SnapshotError(f"{from_snapshot.path}: {chunk.file} does not have the size its manifest says")
            self._files[chunk.file] = expected
        self._tables[table] = TableEntry(rows=entry.rows, primary_id=entry.primary_id, chunks=entry.chunks,
                                         mode="full")

    # -- finishing -------------------------------------------------------------------------------------
    def _write_small(self, relpath: str, data: bytes) -> FileDigest:
        target = self._work / relpath
        with open(target, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return FileDigest(hashlib.sha256(data).hexdigest(), len(data))

    def close(self) -> Manifest:
        """Write schema and manifest, then atomically rename the work directory into place."""
        self._check_open()
        for table, (file, count) in self._tombstones.items():
            entry = self._tables.get(table) or TableEntry(rows=0, primary_id=self._primary_id(table), mode="delta")
            self._tables[table] = TableEntry(
                rows=entry.rows, primary_id=entry.primary_id, chunks=entry.chunks, mode="delta",
                tombstones=count, tombstone_file=file or None,
            )
        schema_bytes = orjson.dumps(self.schema.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        self._record_file(SCHEMA_FILE, self._write_small(SCHEMA_FILE, schema_bytes))
        source = None
        if self._source is not None:
            source = {
                "organization_id": self._source.organization_id,
                "name": self._source.name,
                "url": self._source.url,
                "environment_type": self._source.environment_type,
                "version": self._source.version,
            }
        manifest = Manifest(
            created=self._created,
            tables=dict(self._tables),
            files=dict(self._files),
            source=source,
            tools=_tool_versions(),
            components=tuple(sorted(self._components)),
            masking=self._masking,
            encryption=None if self._key is None else {"algorithm": "AES-256-GCM", "key_id": key_id(self._key)},
            parent=self._parent_link,
        )
        raw = manifest.to_json()
        digest = self._write_small(MANIFEST_FILE, raw)
        self._write_small(MANIFEST_SUM_FILE, f"{digest.sha256}  {MANIFEST_FILE}\n".encode("ascii"))
        shutil.rmtree(self._work / TMP_DIR, ignore_errors=True)
        self._publish()
        self._done = True
        return manifest

    def _publish(self) -> None:
        old: Path | None = None
        if self.path.exists():
            if not self._overwrite:
                self.abort()
                raise SnapshotError(f"{self.path} appeared while writing; refusing to overwrite it")
            old = Path(tempfile.mkdtemp(prefix=f"{self.path.name}.partial-old-", dir=self.path.parent))
            os.replace(self.path, old / "snapshot")
        os.rename(self._work, self.path)
        _fsync_dir(self.path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        """Drop everything written so far; nothing is left at ``path``."""
        self._done = True
        shutil.rmtree(self._work, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
