"""End-to-end export over real HTTP: full, chosen tables and filters, subsets, incrementals, encryption."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from seeder.diff import diff
from seeder.errors import SnapshotError
from seeder.export import ExportOptions, load_subset
from seeder.model import SERVICE_TABLES
from seeder.records import lookup_of
from seeder.restore import RestoreOptions, restore
from seeder.snapshot import Snapshot, verify
from tests.emulated.e2e_support import EMPTY_SANDBOX, REFERENCE, SOURCE, connected, export_to, ids_of

Start = Callable[..., str]


def test_full_export_counts_sorted_and_verified(start_emulator: Start, tmp_path: Path) -> None:
    url = start_emulator(SOURCE)
    report = export_to(url, tmp_path / "full")
    snap = Snapshot.open(tmp_path / "full")
    manifest = snap.manifest.to_dict()
    with connected(url) as env:
        live_tables = set(env.schema().table_names) - SERVICE_TABLES  # jobs and logs only when named
        assert set(snap.tables) == live_tables
        for table in snap.tables:
            assert manifest["tables"][table]["rows"] == env.count(table), table
            assert report.tables[table]["rows"] == env.count(table), table
    assert report.rows > 300 and snap.rows("contact") > 0 and snap.rows("accountleads") > 0
    for table in snap.tables:
        ids = ids_of(snap, table)
        assert ids == sorted(ids), f"{table} is not sorted by primary id"
        assert len(set(ids)) == len(ids)
    assert verify(tmp_path / "full").ok
    assert report.source["organization_id"] == manifest["source"]["organization_id"]


def test_tables_and_filter(start_emulator: Start, tmp_path: Path) -> None:
    url = start_emulator(SOURCE)
    with connected(url) as env:
        names = sorted(str(r["name"]) for r in env.iter_records("account", select=["name"]))
    letter = names[0][0]
    expected = sorted(n for n in names if n.startswith(letter))
    report = export_to(url, tmp_path / "part", ExportOptions(
        tables=("account", "contact"), filters={"account": f"startswith(name,'{letter}')"}))
    snap = Snapshot.open(tmp_path / "part")
    assert set(snap.tables) == {"account", "contact"}
    assert sorted(str(r["name"]) for r in snap.records("account")) == expected
    assert len(expected) < len(names)
    assert report.tables["contact"]["rows"] == snap.rows("contact") > 0
    assert verify(tmp_path / "part").ok


def _subset_file(path: Path, account_name: str) -> Path:
    path.write_text(
        "roots:\n"
        f"  account: \"name eq '{account_name}'\"\n"
        "children:\n"
        "  - contact.parentcustomerid\n"
        "  - opportunity.customerid\n"
        "  - annotation.objectid\n",
        encoding="utf-8",
    )
    return path


def test_subset_is_closed_and_restores_cleanly(start_emulator: Start, tmp_path: Path) -> None:
    url = start_emulator(SOURCE)
    with connected(url) as env:
        # the account with the most contacts makes the closure non-trivial
        counts: dict[str, int] = {}
        for c in env.iter_records("contact"):
            ref = lookup_of(c, "parentcustomerid")
            if ref and ref[0] == "account":
                counts[ref[1]] = counts.get(ref[1], 0) + 1
        root_id = max(sorted(counts), key=lambda k: counts[k])
        root = env.get("account", root_id)
        assert root is not None
    subset = load_subset(_subset_file(tmp_path / "subset.yaml", str(root["name"]).replace("'", "''")))
    export_to(url, tmp_path / "sub", ExportOptions(subset=subset))
    snap = Snapshot.open(tmp_path / "sub")
    assert verify(tmp_path / "sub").ok
    accounts = set(ids_of(snap, "account"))
    assert root_id in accounts
    # every contact of the root came along (child path)
    assert snap.rows("contact") >= counts[root_id]
    # closure: every lookup points at a row in the subset itself
    present = {t: set(ids_of(snap, t)) for t in snap.tables}
    dangling = []
    for table in snap.tables:
        definition = snap.schema.table(table)
        for record in snap.records(table):
            for lookup in definition.lookups:
                ref = lookup_of(record, lookup.column)
                if ref is None:
                    continue
                target = ref[0] or lookup.to[0].table
                if ref[1].lower() not in present.get(target, set()):
                    dangling.append(f"{table}.{lookup.column} -> {target}({ref[1]})")
    assert dangling == []
    # much smaller than the whole organisation
    with connected(url) as env:
        assert snap.rows("contact") < env.count("contact")
    target_url = start_emulator(EMPTY_SANDBOX)
    with connected(target_url) as sandbox:
        result = restore(sandbox, tmp_path / "sub", RestoreOptions(journal=tmp_path / "j.sqlite"))
        assert result.failed == 0, result.failures[:3]
        assert result.problems == []
        check = diff(snap, sandbox, tables=[t for t in snap.tables if t not in REFERENCE])
        assert check.equal, {k: v.to_dict() for k, v in check.tables.items() if not v.equal}


def test_incremental_since(start_emulator: Start, tmp_path: Path) -> None:
    url = start_emulator(SOURCE)
    first = export_to(url, tmp_path / "s1")
    assert not first.incremental
    with connected(url) as env:
        contact = next(iter(env.iter_records("contact")))
        env.update("contact", contact["contactid"], {"jobtitle": "Changed since the full export"})
        new_id = str(uuid.uuid4())
        env.create("account", {"accountid": new_id, "name": "Created after the full export"})
        lead = next(iter(env.iter_records("lead")))
        lead_id = str(lead["leadid"])
        env.delete("lead", lead_id)
    second = export_to(url, tmp_path / "s2", ExportOptions(since=tmp_path / "s1"))
    assert second.incremental
    snap = Snapshot.open(tmp_path / "s2")
    assert snap.is_incremental and snap.parent is not None
    assert lead_id in set(snap.tombstones("lead"))
    assert new_id in {str(r["accountid"]) for r in snap.records("account")}
    assert contact["contactid"] in {str(r["contactid"]) for r in snap.records("contact")}
    assert lead_id not in set(ids_of(snap, "lead"))
    # unchanged tables are reused, not re-read
    assert second.tables["transactioncurrency"].get("reused") == Snapshot.open(tmp_path / "s1").rows(
        "transactioncurrency")
    assert second.tables["transactioncurrency"]["rows"] == 0
    assert snap.rows("contact") < Snapshot.open(tmp_path / "s1").rows("contact")
    assert verify(tmp_path / "s2").ok
    assert second.warnings == []
    # the resolved incremental equals a fresh full export of the source
    export_to(url, tmp_path / "fresh")
    check = diff(snap, Snapshot.open(tmp_path / "fresh"))
    assert check.equal, {k: v.to_dict() for k, v in check.tables.items() if not v.equal}
    # and a second incremental on top of the first still resolves to the source
    with connected(url) as env:
        env.update("account", new_id, {"name": "Renamed in the second round"})
    export_to(url, tmp_path / "s3", ExportOptions(since=tmp_path / "s2"))
    with connected(url) as env:
        check = diff(Snapshot.open(tmp_path / "s3"), env)
        assert check.equal, {k: v.to_dict() for k, v in check.tables.items() if not v.equal}


def test_incremental_warns_on_mass_deletion(start_emulator: Start, tmp_path: Path) -> None:
    url = start_emulator(SOURCE)
    export_to(url, tmp_path / "s1")
    with connected(url) as env:
        pk = env.schema(["task"]).table("task").primary_id
        ids = [str(r[pk]) for r in env.iter_records("task", select=[pk])]
        doomed = ids[: len(ids) * 3 // 4]
        for rid in doomed:
            env.delete("task", rid)
    report = export_to(url, tmp_path / "s2", ExportOptions(since=tmp_path / "s1"))
    assert report.tables["task"]["deleted"] == len(doomed)
    assert any(w.startswith("task:") and "deleted" in w for w in report.warnings), report.warnings
    quiet = export_to(url, tmp_path / "s3", ExportOptions(since=tmp_path / "s1", anomaly_threshold=0.9))
    assert not any(w.startswith("task:") for w in quiet.warnings)


def test_encrypted_export(start_emulator: Start, tmp_path: Path) -> None:
    url = start_emulator(SOURCE)
    key = os.urandom(32)
    export_to(url, tmp_path / "enc", ExportOptions(tables=("account", "contact"), key=key))
    assert verify(tmp_path / "enc").ok  # no key needed
    raw = b"".join(p.read_bytes() for p in (tmp_path / "enc" / "data").rglob("*") if p.is_file())
    with connected(url) as env:
        name = str(next(iter(env.iter_records("account", select=["name"])))["name"])
    assert name.encode() not in raw
    with pytest.raises(SnapshotError):
        list(Snapshot.open(tmp_path / "enc").records("account"))
    with pytest.raises(SnapshotError):
        list(Snapshot.open(tmp_path / "enc", key=os.urandom(32)).records("account"))
    readable = Snapshot.open(tmp_path / "enc", key=key)
    assert name in {str(r["name"]) for r in readable.records("account")}
    with connected(url) as env:
        assert readable.rows("contact") == env.count("contact")
