"""Pure helpers over records in the Web API's JSON shape: clean, compare, hash, and turn into write bodies.

The exporter stores records as the Web API returns them (minus OData bookkeeping); the restorer turns a
stored record into the body of a write (lookups become ``nav@odata.bind``); ``diff`` and the restore
verification compare records on the columns a restore can carry. Those three views of a record live here,
once, so they can never disagree.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from seeder.model import LOOKUP_LOGICALNAME, Record, Table, lookup_value_key

__all__ = [
    "SYSTEM_COLUMNS",
    "RowComparer",
    "RowComparison",
    "clean_record",
    "comparable",
    "content_hash",
    "digests",
    "lookup_of",
    "write_body",
]

SYSTEM_COLUMNS = frozenset(
    {
        "createdon", "createdby", "createdonbehalfby", "modifiedon", "modifiedby", "modifiedonbehalfby",
        "versionnumber", "overriddencreatedon", "importsequencenumber", "timezoneruleversionnumber",
        "utcconversiontimezonecode", "owningbusinessunit", "owninguser", "owningteam", "exchangerate",
        "statecode", "statuscode", "ownerid",
    }
)
"""Columns the service sets by itself (or that a restore sets in a separate step): never compared."""


def clean_record(record: Mapping[str, Any]) -> Record:
    """Drop OData bookkeeping (``@odata.*``, formatted values) but keep lookup target annotations."""
    out: Record = {}
    for key, value in record.items():
        if "@" in key:
            if key.endswith(LOOKUP_LOGICALNAME):
                out[key] = value
            continue
        out[key] = value
    return out


def lookup_of(record: Mapping[str, Any], column: str) -> tuple[str, str] | None:
    """``(target table, id)`` of a lookup in ``record``, or ``None`` when it is empty."""
    key = lookup_value_key(column)
    value = record.get(key)
    if not value:
        return None
    target = record.get(key + LOOKUP_LOGICALNAME)
    return (str(target) if target else "", str(value))


def comparable(table: Table, record: Mapping[str, Any]) -> dict[str, Any]:
    """The values a restore carries: writable, non-system columns, lookups as ``(table, id)``; sorted."""
    out: dict[str, Any] = {}
    for column in table.columns:
        name = column.name
        if name in SYSTEM_COLUMNS or column.is_primary_id:
            continue
        if not (column.valid_for_create or column.valid_for_update):
            continue
        if column.is_lookup:  # an absent lookup and an empty one are the same: no reference
            value = record.get(lookup_value_key(name))
            out[name] = str(value).lower() if value else None
        elif name in record:
            out[name] = record[name]
    return dict(sorted(out.items()))


def content_hash(table: Table, records: Iterable[Mapping[str, Any]]) -> str:
    """An order-independent sha256 over the comparable values of ``records`` (XOR of per-row digests)."""
    acc = bytearray(32)
    count = 0
    for record in records:
        rid = str(record.get(table.primary_id, "")).lower()
        digest = hashlib.sha256(orjson.dumps([rid, comparable(table, record)], option=orjson.OPT_SORT_KEYS)).digest()
        for i, b in enumerate(digest):
            acc[i] ^= b
        count += 1
    return f"{count}:{bytes(acc).hex()}"


def write_body(
    table: Table,
    record: Mapping[str, Any],
    entity_sets: Mapping[str, str],
    *,
    skip_lookups: Iterable[str] = (),
    remap: Mapping[str, str] | None = None,
    include_state: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """The body that writes ``record`` into ``table``, and the problems met on the way.

    Plain writable columns are copied; each lookup becomes ``<navigation property>@odata.bind`` with
    ``/<entity set>(<id>)`` (``remap`` maps a source id to the id it has in the target); lookups named in
    ``skip_lookups`` are left out (they are filled by a later link step). ``statecode``/``statuscode`` are
    left out unless ``include_state``: rows are written active and deactivated in a final step. A lookup
    whose target table or navigation property is unknown is left out and named in the problems list.
    """
    skip = set(skip_lookups)
    body: dict[str, Any] = {}
    problems: list[str] = []
    for column in table.columns:
        name = column.name
        if column.is_primary_id or name in skip:
            continue
        if name in ("statecode", "statuscode") and not include_state:
            continue
        if name in SYSTEM_COLUMNS and name not in ("ownerid", "statecode", "statuscode"):
            continue
        if not column.valid_for_create and not column.valid_for_update:
            continue
        if column.is_lookup:
            key = lookup_value_key(name)
            if key not in record:
                continue
            ref = lookup_of(record, name)
            lookup = table.lookup(name)
            if ref is None:
                if lookup is not None and len(lookup.to) == 1:
                    body[f"{lookup.to[0].navigation_property}@odata.bind"] = None
                continue
            target_table, target_id = ref
            if lookup is None:
                problems.append(f"{table.name}.{name}: no relationship metadata for this lookup")
                continue
            target = lookup.target(target_table) if target_table else (lookup.to[0] if len(lookup.to) == 1 else None)
            entity_set = entity_sets.get(target.table) if target else None
            if target is None or not entity_set or not target.navigation_property:
                problems.append(f"{table.name}.{name}: target table {target_table or '?'} cannot be bound")
                continue
            target_id = (remap or {}).get(target_id.lower(), target_id)
            body[f"{target.navigation_property}@odata.bind"] = f"/{entity_set}({target_id})"
        elif name in record:
            body[name] = record[name]
    return body, problems


def digests(table: Table, records: Iterable[Mapping[str, Any]],
            key_columns: tuple[str, ...] | None = None) -> Iterator[tuple[str, bytes]]:
    """``(key, 16-byte digest of the comparable values)`` for each record.

    The key is the lower-case primary id, or the values of ``key_columns`` joined by ``:`` — used for
    N:N intersect rows, whose own ids differ between environments while the pair they link does not."""
    for record in records:
        if key_columns:
            rid = ":".join(str(record.get(c, "")).lower() for c in key_columns)
            payload = b""
        else:
            rid = str(record.get(table.primary_id, "")).lower()
            payload = orjson.dumps(comparable(table, record), option=orjson.OPT_SORT_KEYS)
        yield rid, hashlib.blake2b(payload, digest_size=16).digest()


@dataclass
class RowComparison:
    """How the rows of one table differ from side A to side B."""

    added: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0
    added_ids: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.added or self.changed or self.deleted)

    def to_dict(self, records: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"added": self.added, "changed": self.changed, "deleted": self.deleted,
                                "unchanged": self.unchanged}
        if records:
            data["records"] = {"added": self.added_ids, "changed": self.changed_ids, "deleted": self.deleted_ids}
        return data


class RowComparer:
    """Compares two streams of rows with bounded memory: each side is spooled into a temporary SQLite file
    of ``(id, digest)`` pairs and the answers are SQL set operations. Use as a context manager."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="seeder-compare-")
        self._db = sqlite3.connect(Path(self._tmp.name) / "rows.sqlite")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")

    def __enter__(self) -> RowComparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._tmp.cleanup()

    def compare(self, table: Table, left: Iterable[Mapping[str, Any]], right: Iterable[Mapping[str, Any]],
                *, keep_ids: bool = False, only_left_ids: bool = False,
                key_columns: tuple[str, ...] | None = None) -> RowComparison:
        """Rows only in ``right`` are added, only in ``left`` deleted, in both with other values changed.

        ``only_left_ids`` ignores rows of ``right`` whose id is not in ``left`` (a target that holds more
        rows than were restored)."""
        db = self._db
        for side in ("a", "b"):
            db.execute(f"DROP TABLE IF EXISTS {side}")
            db.execute(f"CREATE TABLE {side} (id TEXT PRIMARY KEY, digest BLOB) WITHOUT ROWID")
        db.executemany("INSERT OR REPLACE INTO a VALUES (?, ?)", digests(table, left, key_columns))
        db.executemany("INSERT OR REPLACE INTO b VALUES (?, ?)", digests(table, right, key_columns))
        if only_left_ids:
            db.execute("DELETE FROM b WHERE id NOT IN (SELECT id FROM a)")
        result = RowComparison()
        queries = {
            "added": "SELECT b.id FROM b LEFT JOIN a ON a.id = b.id WHERE a.id IS NULL ORDER BY b.id",
            "deleted": "SELECT a.id FROM a LEFT JOIN b ON a.id = b.id WHERE b.id IS NULL ORDER BY a.id",
            "changed": "SELECT a.id FROM a JOIN b ON a.id = b.id WHERE a.digest != b.digest ORDER BY a.id",
        }
        for kind, sql in queries.items():
            count = 0
            ids: list[str] = getattr(result, f"{kind}_ids")
            for (rid,) in db.execute(sql):
                count += 1
                if keep_ids:
                    ids.append(rid)
            setattr(result, kind, count)
        (same,) = db.execute("SELECT COUNT(*) FROM a JOIN b ON a.id = b.id WHERE a.digest = b.digest").fetchone()
        result.unchanged = int(same)
        return result
