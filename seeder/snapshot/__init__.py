"""Snapshots: a verifiable, streamable, optionally encrypted directory of a Dataverse environment's data.

Layout of ``DIR``::

    manifest.json             what is here (see seeder.snapshot.manifest), with every file's sha256
    manifest.sha256           sha256 of manifest.json, so an edited manifest is detected
    schema.json               Schema.to_dict() of the tables (never encrypted: metadata only)
    data/<table>/00000.jsonl.zst         records in the Web API JSON shape, sorted by primary id
    data/<table>/tombstones.jsonl.zst    incremental snapshots: ids deleted since the parent
    components/<path>                    solution components, flows, settings (as given)

With a key every data, tombstone and component file is sealed with AES-256-GCM and named ``*.enc``.
Writing: :class:`SnapshotWriter`; reading: :class:`Snapshot`; checking: :func:`verify`; retention:
:func:`list_snapshots` / :func:`prune`; searching: :func:`query`; keys: :func:`load_key`.
"""

from seeder.snapshot.keys import KEY_ENV, generate_key, key_id, load_key
from seeder.snapshot.manifest import ChunkInfo, FileEntry, Manifest, TableEntry
from seeder.snapshot.query import query
from seeder.snapshot.reader import Snapshot, chain
from seeder.snapshot.retention import PruneReport, Retention, SnapshotInfo, list_snapshots, prune
from seeder.snapshot.verify import VerifyReport, verify
from seeder.snapshot.writer import SnapshotWriter

__all__ = [
    "KEY_ENV",
    "ChunkInfo",
    "FileEntry",
    "Manifest",
    "PruneReport",
    "Retention",
    "Snapshot",
    "SnapshotInfo",
    "SnapshotWriter",
    "TableEntry",
    "VerifyReport",
    "chain",
    "generate_key",
    "key_id",
    "list_snapshots",
    "load_key",
    "prune",
    "query",
    "verify",
]
