"""The snapshot manifest (``manifest.json`` + its ``manifest.sha256`` sidecar) and the snapshot's path rules.

``manifest.json`` describes everything in the snapshot directory::

    {"format_version": 1, "created": "2026-11-26T08:40:00Z",
     "source": {"organization_id", "name", "url", "environment_type", "version"} | null,
     "tools": {"seeder": "0.1.0", "faker": "40.63.0"},
     "tables": {TABLE: {"rows": N, "primary_id": "accountid", "mode": "full" | "delta",
                        "chunks": [{"file", "rows", "first_id", "last_id"}],
                        "tombstones": N, "tombstone_file": "data/T/tombstones.jsonl.zst" | null}},
     "components": ["flows/x.json", ...],          # logical paths, see Snapshot.components()
     "files": {RELPATH: {"sha256", "size"}},       # every file but manifest.json / manifest.sha256
     "masking": {"masked": false, ...},
     "encryption": {"algorithm": "AES-256-GCM", "key_id": "hmac-sha256:..."} | null,
     "parent": {"path": "../2026-11-25", "manifest_sha256": "..."} | null}

``manifest.sha256`` holds ``sha256(manifest.json)`` so that an edited manifest is caught by ``verify``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from seeder.errors import SnapshotError

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "MANIFEST_SUM_FILE",
    "SCHEMA_FILE",
    "ChunkInfo",
    "FileEntry",
    "Manifest",
    "TableEntry",
    "check_component_path",
    "check_table_name",
    "read_manifest",
]

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
MANIFEST_SUM_FILE = "manifest.sha256"
SCHEMA_FILE = "schema.json"
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def check_table_name(table: str) -> str:
    """``table`` when it is safe as a directory name (logical names are); :class:`SnapshotError` otherwise."""
    if not _TABLE_NAME.match(table):
        raise SnapshotError(f"table name {table!r} cannot be stored in a snapshot")
    return table


def check_component_path(relpath: str) -> str:
    """The normalised relative POSIX path of a component; rejects absolute paths, ``..`` and oddities."""
    if not relpath or "\\" in relpath or "\x00" in relpath or relpath.startswith("/"):
        raise SnapshotError(f"component path {relpath!r} is not a relative POSIX path")
    parts = PurePosixPath(relpath).parts
    if not parts or any(p in ("", ".", "..") for p in parts):
        raise SnapshotError(f"component path {relpath!r} must not contain '.' or '..' segments")
    return "/".join(parts)


@dataclass(frozen=True)
class FileEntry:
    """sha256 (hex) and size in bytes of one file of the snapshot."""

    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class ChunkInfo:
    """One chunk file of a table: its path, row count and the first and last primary id in it."""

    file: str
    rows: int
    first_id: str | None
    last_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "first_id": self.first_id, "last_id": self.last_id}


@dataclass(frozen=True)
class TableEntry:
    """A table's data in the snapshot.

    ``mode`` is ``"full"`` (the chunks hold every row of the table) or ``"delta"`` (only in an incremental:
    the chunks hold rows changed since the parent and ``tombstones`` counts rows deleted since then).
    """

    rows: int
    primary_id: str
    chunks: tuple[ChunkInfo, ...] = ()
    tombstones: int = 0
    tombstone_file: str | None = None
    mode: str = "full"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "primary_id": self.primary_id,
            "mode": self.mode,
            "chunks": [c.to_dict() for c in self.chunks],
            "tombstones": self.tombstones,
            "tombstone_file": self.tombstone_file,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableEntry:
        return cls(
            rows=int(data["rows"]),
            primary_id=str(data["primary_id"]),
            chunks=tuple(
                ChunkInfo(str(c["file"]), int(c["rows"]), c.get("first_id"), c.get("last_id"))
                for c in data.get("chunks", [])
            ),
            tombstones=int(data.get("tombstones", 0)),
            tombstone_file=data.get("tombstone_file"),
            mode=str(data.get("mode", "full")),
        )


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says. ``to_dict``/``from_dict`` are the JSON shape in the module docstring."""

    created: str
    tables: Mapping[str, TableEntry]
    files: Mapping[str, FileEntry]
    format_version: int = FORMAT_VERSION
    source: Mapping[str, Any] | None = None
    tools: Mapping[str, str] = field(default_factory=dict)
    components: tuple[str, ...] = ()
    masking: Mapping[str, Any] = field(default_factory=lambda: {"masked": False})
    encryption: Mapping[str, Any] | None = None
    parent: Mapping[str, Any] | None = None

    @property
    def encrypted(self) -> bool:
        return self.encryption is not None

    @property
    def key_id(self) -> str | None:
        return None if self.encryption is None else str(self.encryption.get("key_id"))

    @property
    def incremental(self) -> bool:
        return self.parent is not None

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "created": self.created,
            "source": dict(self.source) if self.source is not None else None,
            "tools": dict(self.tools),
            "tables": {name: self.tables[name].to_dict() for name in sorted(self.tables)},
            "components": list(self.components),
            "files": {name: self.files[name].to_dict() for name in sorted(self.files)},
            "masking": dict(self.masking),
            "encryption": dict(self.encryption) if self.encryption is not None else None,
            "parent": dict(self.parent) if self.parent is not None else None,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        try:
            version = int(data["format_version"])
            if version > FORMAT_VERSION:
                raise SnapshotError(
                    f"snapshot format {version} is newer than this seeder understands ({FORMAT_VERSION})",
                    hint="upgrade seeder",
                )
            return cls(
                format_version=version,
                created=str(data["created"]),
                source=data.get("source"),
                tools=dict(data.get("tools", {})),
                tables={str(k): TableEntry.from_dict(v) for k, v in data["tables"].items()},
                components=tuple(str(c) for c in data.get("components", [])),
                files={str(k): FileEntry(str(v["sha256"]), int(v["size"])) for k, v in data["files"].items()},
                masking=dict(data.get("masking", {"masked": False})),
                encryption=data.get("encryption"),
                parent=data.get("parent"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SnapshotError(f"{MANIFEST_FILE}: malformed ({type(exc).__name__}: {exc})") from None

    def __post_init__(self) -> None:
        # a manifest can be rewritten together with its sidecar: never follow a path out of the snapshot
        for name, entry in self.tables.items():
            check_table_name(name)
            for relpath in [c.file for c in entry.chunks] + [entry.tombstone_file or "x"]:
                check_component_path(relpath)
        for relpath in list(self.files) + list(self.components):
            check_component_path(relpath)


def read_manifest(path: Path, *, check_sum: bool = True) -> tuple[Manifest, str]:
    """The manifest of the snapshot at ``path`` and the sha256 of its bytes.

    With ``check_sum`` the ``manifest.sha256`` sidecar must match, so an edited manifest is refused.
    """
    manifest_path = path / MANIFEST_FILE
    try:
        raw = manifest_path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(
            f"{path}: no {MANIFEST_FILE}; not a snapshot, or an export that did not finish",
        ) from None
    except OSError as exc:
        raise SnapshotError(f"{manifest_path}: cannot read ({exc.strerror})") from None
    digest = hashlib.sha256(raw).hexdigest()
    if check_sum:
        try:
            expected = (path / MANIFEST_SUM_FILE).read_text(encoding="ascii").split()[0]
        except (OSError, IndexError, UnicodeDecodeError):
            raise SnapshotError(f"{path}: {MANIFEST_SUM_FILE} is missing or unreadable") from None
        if expected != digest:
            raise SnapshotError(f"{path}: {MANIFEST_FILE} was edited (its checksum does not match)")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"{manifest_path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SnapshotError(f"{manifest_path}: not a JSON object")
    return Manifest.from_dict(data), digest
