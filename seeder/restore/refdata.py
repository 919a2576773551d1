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

from seeder.model import Record, Schema

__all__ = ["NATURAL_KEYS", "REFERENCE_TABLES", "ReferenceMap", "match_reference_data"]

NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "organization": (),
    "businessunit": ("name",),
    "systemuser": ("domainname", "internalemailaddress", "fullname"),
    "team": ("name",),
    "transactioncurrency": ("isocurrencycode",),
}
REFERENCE_TABLES = frozenset(NATURAL_KEYS)


@dataclass
class ReferenceMap:
    """Source id → target id for reference rows, with how each was matched and what was not."""

    ids: dict[str, str] = field(default_factory=dict)
    how: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    unmatched: dict[str, list[str]] = field(default_factory=dict)
    default_owner: tuple[str, str] | None = None

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
        indexes: dict[str, Mapping[str | None, Record]] = {
            key: {_norm(r.get(key)): r for r in targets if _norm(r.get(key))} for key in keys
        }
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
