"""Incremental snapshots: deltas, tombstones, reused chunks and the resolved view along the chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from snapshot_support import ORG, SCHEMA, accounts, by_id, contacts

from seeder.errors import SnapshotError
from seeder.snapshot import Snapshot, SnapshotWriter, chain, query, verify

KEY = bytes(range(32))


@pytest.fixture(params=[None, KEY], ids=["plain", "encrypted"])
def key(request: pytest.FixtureRequest) -> bytes | None:
    return request.param  # type: ignore[no-any-return]


def test_chain_of_incrementals_resolves_to_the_state_at_each_point(tmp_path: Path, key: bytes | None) -> None:
    base_accounts = accounts(40)
    base_contacts = contacts(30, base_accounts)
    full = tmp_path / "2026-11-01"
    with SnapshotWriter(full, schema=SCHEMA, source=ORG, key=key, chunk_rows=8) as writer:
        writer.write_table("account", base_accounts)
        writer.write_table("contact", base_contacts)

    # day 2: three accounts changed, one new, two deleted; contacts unchanged
    ordered = by_id(base_accounts, "accountid")
    changed = [{**ordered[i], "name": f"changed {i}"} for i in (0, 10, 39)]
    new = {"accountid": "ffffffff-0000-0000-0000-000000000001", "name": "new"}
    deleted = [ordered[5]["accountid"], ordered[20]["accountid"]]
    day2 = tmp_path / "2026-11-02"
    with SnapshotWriter(day2, schema=SCHEMA, source=ORG, key=key, parent=full, chunk_rows=8) as writer:
        writer.write_table("account", [*changed, new])
        writer.write_tombstones("account", reversed(deleted))
        writer.reuse_table("contact", Snapshot.open(full, key))
    incremental = Snapshot.open(day2, key)
    assert incremental.is_incremental and incremental.parent == full
    assert incremental.rows("account") == 4
    assert list(incremental.tombstones("account")) == sorted(deleted)
    manifest = json.loads((day2 / "manifest.json").read_text())
    assert manifest["parent"]["path"] == "../2026-11-01"
    assert manifest["tables"]["account"]["tombstones"] == 2
    assert manifest["tables"]["account"]["mode"] == "delta"

    expected = {r["accountid"]: r for r in base_accounts}
    for r in changed:
        expected[r["accountid"]] = r
    expected[new["accountid"]] = new
    for d in deleted:
        del expected[d]
    assert list(incremental.resolved_records("account")) == by_id(list(expected.values()), "accountid")
    assert list(incremental.resolved_records("contact")) == by_id(base_contacts, "contactid")
    assert incremental.resolved_rows("account") == len(expected) == 39
    assert incremental.resolved_rows("contact") == 30

    # reused chunks are hard links of the parent's
    first = manifest["tables"]["contact"]["chunks"][0]["file"]
    assert (day2 / first).stat().st_ino == (full / first).stat().st_ino

    # day 3 on top of day 2: the account delta of day 2 is reused as "no change", a contact is deleted
    day3 = tmp_path / "2026-11-03"
    gone = by_id(base_contacts, "contactid")[0]["contactid"]
    with SnapshotWriter(day3, schema=SCHEMA, source=ORG, key=key, parent=day2) as writer:
        writer.reuse_table("account", incremental)
        writer.write_tombstones("contact", [gone])
    latest = Snapshot.open(day3, key)
    assert list(latest.resolved_records("account")) == by_id(list(expected.values()), "accountid")
    assert [r["contactid"] for r in latest.resolved_records("contact")] == \
        [r["contactid"] for r in by_id(base_contacts, "contactid")[1:]]
    assert chain(day3, key) == [full, day2, day3]
    assert [r["name"] for r in query(latest, "account", "startswith(name,'changed')")] == \
        [r["name"] for r in by_id(changed, "accountid")]
    for path in (full, day2, day3):
        assert verify(path).ok, verify(path).problems


def test_changed_rows_win_over_tombstones_and_full_tables_stand_alone(tmp_path: Path) -> None:
    rows = accounts(6)
    full = tmp_path / "a"
    with SnapshotWriter(full, schema=SCHEMA, source=None) as writer:
        writer.write_table("account", rows)
    again = {**rows[0], "name": "recreated"}
    inc = tmp_path / "b"
    with SnapshotWriter(inc, schema=SCHEMA, source=None, parent=full) as writer:
        writer.write_table("account", [again])
        writer.write_tombstones("account", [rows[0]["accountid"], rows[1]["accountid"]])
        writer.write_table("task", [{"activityid": "t1"}], delta=False)
    snapshot = Snapshot.open(inc)
    resolved = {r["accountid"]: r for r in snapshot.resolved_records("account")}
    assert resolved[rows[0]["accountid"]]["name"] == "recreated"
    assert rows[1]["accountid"] not in resolved and len(resolved) == 5
    assert snapshot.manifest.tables["task"].mode == "full"
    assert list(snapshot.resolved_records("task")) == [{"activityid": "t1"}]


def test_a_replaced_or_missing_parent_is_detected(tmp_path: Path) -> None:
    full = tmp_path / "a"
    with SnapshotWriter(full, schema=SCHEMA, source=None) as writer:
        writer.write_table("account", accounts(3))
    inc = tmp_path / "b"
    with SnapshotWriter(inc, schema=SCHEMA, source=None, parent=full) as writer:
        writer.write_tombstones("account", [accounts(3)[0]["accountid"]])
    with SnapshotWriter(full, schema=SCHEMA, source=None, overwrite=True) as writer:
        writer.write_table("account", accounts(4))
    assert any("not the snapshot" in p for p in verify(inc).problems)
    with pytest.raises(SnapshotError, match="not the parent"):
        list(Snapshot.open(inc).resolved_records("account"))
    import shutil

    shutil.rmtree(full)
    assert any("missing" in p for p in verify(inc).problems)
    with pytest.raises(SnapshotError, match="missing"):
        list(Snapshot.open(inc).resolved_records("account"))


def test_incremental_rules(tmp_path: Path) -> None:
    full = tmp_path / "a"
    with SnapshotWriter(full, schema=SCHEMA, source=None, key=KEY) as writer:
        writer.write_table("account", accounts(3))
    with pytest.raises(SnapshotError, match="same encryption key"):
        SnapshotWriter(tmp_path / "b", schema=SCHEMA, source=None, parent=full)
    with pytest.raises(SnapshotError, match="incremental"), \
            SnapshotWriter(tmp_path / "c", schema=SCHEMA, source=None) as writer:
        writer.write_tombstones("account", ["x"])
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
