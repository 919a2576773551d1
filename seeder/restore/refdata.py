"""Reference data that a restore matches in the target instead of creating: the organisation, business
units, users, teams and currencies.

Users and teams differ between environments, so rows are never copied; each source row is matched to a
target row by id (a sandbox copied from the same organisation keeps them), then by a natural key
(business unit and team name, user domain name / e-mail / full name, currency ISO code). The result is a
source → target id map applied to every lookup. Owners that match nobody go to a default owner (a flag,
or the signed-in user) and are reported; other unmatched references are reported and left empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seeder.model import LOOKUP_LOGICALNAME, REFERENCE_TABLES, Record, Schema, Table
from seeder.records import lookup_of

__all__ = ["NATURAL_KEYS", "REFERENCE_TABLES", "ReferenceMap", "match_reference_data"]

NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "organization": (),
    "businessunit": ("name",),
    "systemuser": ("domainname", "internalemailaddress", "fullname"),
    "team": ("name",),
    "transactioncurrency": ("isocurrencycode",),
}
assert frozenset(NATURAL_KEYS) == REFERENCE_TABLES


@dataclass
class ReferenceMap:
    """Source id → target id for reference rows, with how each was matched and what was not."""

    ids: dict[str, str] = field(default_factory=dict)
    how: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    default_owner: tuple[str, str] | None = None

    def remap(self, table: Table, record: Record) -> Record:
        """Point lookups at matched reference rows; owners nobody matches go to the default owner, other
        unmatched references are left empty. References to a table the snapshot did not carry are kept."""
        out = dict(record)
        for lookup in table.lookups:
            ref = lookup_of(record, lookup.column)
            if ref is None:
                continue
            key = f"_{lookup.column}_value"
            if not ref[0] and len(lookup.to) == 1:  # a snapshot without the annotation: the only target
                ref = (lookup.to[0].table, ref[1])
                out[key + LOOKUP_LOGICALNAME] = ref[0]
            if ref[0] not in REFERENCE_TABLES:
                continue
            mapped = self.ids.get(ref[1].lower())
            if mapped is not None:
                out[key] = mapped
            elif ref[0] not in self.how:
                continue  # the snapshot did not carry that table: the id is kept and must exist in the target
            elif lookup.column == "ownerid" and self.default_owner:
                out[key] = self.default_owner[1]
                out[key + LOOKUP_LOGICALNAME] = self.default_owner[0]
            else:
                out.pop(key, None)
                out.pop(key + LOOKUP_LOGICALNAME, None)
        return out

    def to_dict(self) -> dict[str, Any]:
        matched: dict[str, dict[str, int]] = {}
        for table, rows in sorted(self.how.items()):
            counts: dict[str, int] = {}
            for _target, how in rows.values():
                counts[how] = counts.get(how, 0) + 1
            matched[table] = dict(sorted(counts.items()))
        return {
            "matched": matched,
            "unmatched": {t: len(v) for t, v in sorted(self.unmatched.items()) if v},
            "default_owner": list(self.default_owner) if self.default_owner else None,
        }


def _norm(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).strip().lower()


def _unique_index(rows: list[Record], key: str) -> Mapping[str | None, Record]:
    """Rows by the normalised value of ``key``, leaving out values that several rows share: two users both
    called "J. Smith" must not make one of them the owner of the other's records."""
    seen: dict[str | None, Record] = {}
    shared: set[str | None] = set()
    for row in rows:
        value = _norm(row.get(key))
        if value is None:
            continue
        if value in seen:
            shared.add(value)
        seen[value] = row
    return {k: v for k, v in seen.items() if k not in shared}


def match_reference_data(
    schema: Schema,
    source_rows: Callable[[str], Iterable[Record]],
    target_rows: Callable[[str], Iterable[Record]],
    *,
    target_org_id: str,
    default_owner: tuple[str, str],
) -> ReferenceMap:
    """Match every reference row of the snapshot (``source_rows(table)``) in the target (``target_rows``)."""
    result = ReferenceMap(default_owner=default_owner)
    for table_name, keys in sorted(NATURAL_KEYS.items()):
        if table_name not in schema:
            continue
        table = schema.table(table_name)
        pk = table.primary_id
        sources = list(source_rows(table_name))
        if not sources:
            continue
        targets = list(target_rows(table_name))
        by_id = {_norm(r.get(pk)): r for r in targets}
        indexes = {key: _unique_index(targets, key) for key in keys}
        root_bu = next((r for r in targets if table_name == "businessunit"
                        and not r.get("_parentbusinessunitid_value")), None)
        how: dict[str, tuple[str, str]] = {}
        missing: list[str] = []
        for row in sources:
            sid = _norm(row.get(pk))
            if sid is None:
                continue
            found: tuple[str, str] | None = None
            if table_name == "organization":
                found = (target_org_id.lower(), "organization")
            elif sid in by_id:
                found = (sid, "id")
            else:
                for key in keys:
                    hit = indexes[key].get(_norm(row.get(key)))
                    if hit is not None:
                        found = (str(hit[pk]).lower(), key)
                        break
                if found is None and root_bu is not None and not row.get("_parentbusinessunitid_value"):
                    found = (str(root_bu[pk]).lower(), "root business unit")
            if found is None:
                missing.append(sid)
                continue
            how[sid] = found
            result.ids[sid] = found[0]
        result.how[table_name] = how
        result.unmatched[table_name] = missing
    return result
