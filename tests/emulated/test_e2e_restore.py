"""End-to-end restore over real HTTP: demo organisation → snapshot → empty sandbox, and every way to narrow,
preview, mirror, refuse and retry a restore."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from seeder.cli import main
from seeder.diff import diff
from seeder.emulator import EmulatorConfig, running_emulator
from seeder.errors import SafetyError
from seeder.export import ExportOptions
from seeder.model import Record
from seeder.records import lookup_of
from seeder.restore import RestoreOptions, restore
from seeder.snapshot import Snapshot
from tests.emulated.e2e_support import (
    EMPTY_SANDBOX,
    REFERENCE,
    SOURCE,
    connected,
    dangling_lookups,
    emulator_stats,
    export_to,
    ids_of,
    rewrite_snapshot,
    target_ids,
)

Start = Callable[..., str]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("restore") / "demo"
    with running_emulator(SOURCE) as url:
        export_to(url, out)
    yield out


def _data_tables(snap: Snapshot) -> list[str]:
    return [t for t in snap.tables if t not in REFERENCE]


def _assert_equal(snap: Snapshot, env: object, tables: list[str]) -> None:
    check = diff(snap, env, tables=tables)  # type: ignore[arg-type]
    assert check.equal, {k: v.to_dict() for k, v in check.tables.items() if not v.equal}


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0)


def test_restore_into_empty_sandbox_then_again(snapshot: Path, start_emulator: Start, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    url = start_emulator(EMPTY_SANDBOX)
    snap = Snapshot.open(snapshot)
    tables = _data_tables(snap)
    with connected(url) as env:
        assert all(env.count(t) == 0 for t in ("account", "contact", "lead", "task", "annotation", "accountleads"))
        first = restore(env, snapshot, RestoreOptions(journal=tmp_path / "j1.sqlite"))
        assert first.failed == 0 and first.problems == [] and first.verified
        assert first.written >= sum(snap.rows(t) for t in tables if t not in ("accountleads",)) - 1
        _assert_equal(snap, env, tables)
        second = restore(env, snapshot, RestoreOptions(journal=tmp_path / "j2.sqlite"))
        assert second.failed == 0 and second.written == first.written  # really written again
        _assert_equal(snap, env, tables)
        for table in tables:
            assert env.count(table) == snap.rows(table), table  # nothing duplicated
        assert dangling_lookups(env, [t for t in tables if snap.rows(t)]) == []
    capsys.readouterr()
    assert _run(["diff", str(snapshot), url, "--tables", ",".join(tables)]) == 0
    assert capsys.readouterr().out.strip().endswith("equal")
    # the CLI says "different" (exit 1) as soon as one row differs
    with connected(url) as env:
        contact = next(iter(env.iter_records("contact")))
        env.update("contact", contact["contactid"], {"jobtitle": "edited in the target"})
    assert _run(["diff", str(snapshot), url, "--tables", "contact", "--json"]) == 1
    data = orjson.loads(capsys.readouterr().out)
    assert data["tables"]["contact"]["changed"] == 1 and data["equal"] is False


def _first(snap: Snapshot, table: str, where: Callable[[Record], bool]) -> Record:
    return next(r for r in snap.records(table) if where(r))


def test_single_record_with_parents_and_children(snapshot: Path, start_emulator: Start, tmp_path: Path) -> None:
    snap = Snapshot.open(snapshot)
    opportunity = _first(snap, "opportunity", lambda r: (lookup_of(r, "customerid") or ("",))[0] == "account")
    account_id = lookup_of(opportunity, "customerid")[1]  # type: ignore[index]
    url = start_emulator(EMPTY_SANDBOX)
    with connected(url) as env:
        report = restore(env, snapshot, RestoreOptions(ids={"opportunity": [opportunity["opportunityid"]]},
                                                       journal=tmp_path / "one.sqlite"))
        assert report.failed == 0
        assert target_ids(env, "opportunity") == [opportunity["opportunityid"]]
        assert account_id in target_ids(env, "account")
        assert env.count("account") < snap.rows("account")
        assert env.count("task") == 0  # nothing else came along
        assert dangling_lookups(env, ["opportunity", "account", "contact"]) == []
        assert report.selection["parents_added"].get("account", 0) >= 1
    # with children: an account brings the contacts that point at it
    parent = _first(snap, "account", lambda r: any(
        (lookup_of(c, "parentcustomerid") or ("", ""))[1] == r["accountid"] for c in snap.records("contact")))
    children = {c["contactid"] for c in snap.records("contact")
                if (lookup_of(c, "parentcustomerid") or ("", ""))[1] == parent["accountid"]}
    url2 = start_emulator(EMPTY_SANDBOX)
    with connected(url2) as env:
        report = restore(env, snapshot, RestoreOptions(ids={"account": [parent["accountid"]]}, with_children=True,
                                                       journal=tmp_path / "kids.sqlite"))
        assert report.failed == 0
        assert children <= set(target_ids(env, "contact"))
        assert env.count("contact") < snap.rows("contact")
        assert dangling_lookups(env, ["account", "contact"]) == []


def _restored_then_drifted(snapshot: Path, start_emulator: Start, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A sandbox holding the snapshot, then: one contact edited, one task deleted, one extra account."""
    url = start_emulator(EMPTY_SANDBOX)
    snap = Snapshot.open(snapshot)
    with connected(url) as env:
        assert restore(env, snapshot, RestoreOptions(journal=tmp_path / "base.sqlite")).failed == 0
        contact = ids_of(snap, "contact")[0]
        env.update("contact", contact, {"jobtitle": "drifted in the target"})
        task = ids_of(snap, "task")[0]
        env.delete("task", task)
        extra = str(uuid.uuid4())
        env.create("account", {"accountid": extra, "name": "Only in the target"})
    return url, {"contact": contact, "task": task, "account": extra}


def test_dry_run_reports_and_writes_nothing(snapshot: Path, start_emulator: Start, tmp_path: Path) -> None:
    url, drift = _restored_then_drifted(snapshot, start_emulator, tmp_path)
    before = emulator_stats(url)["records_written"]
    with connected(url) as env:
        report = restore(env, snapshot, RestoreOptions(dry_run=True, tables=("account", "contact", "task")))
        assert report.dry_run
        assert report.tables["contact"].would_update == 1
        assert report.tables["task"].would_create == 1
        assert report.tables["account"].would_delete == 0  # upsert never deletes
        assert report.tables["account"].would_create == 0 and report.tables["account"].would_update == 0
        mirror = restore(env, snapshot, RestoreOptions(dry_run=True, mode="mirror", tables=("account",)))
        assert mirror.tables["account"].would_delete == 1
        assert env.get("task", drift["task"]) is None
    assert emulator_stats(url)["records_written"] == before


def test_mirror_deletes_only_when_asked(snapshot: Path, start_emulator: Start, tmp_path: Path) -> None:
    url, drift = _restored_then_drifted(snapshot, start_emulator, tmp_path)
    snap = Snapshot.open(snapshot)
    tables = _data_tables(snap)
    with connected(url) as env:
        upsert = restore(env, snapshot, RestoreOptions(journal=tmp_path / "u.sqlite"))
        assert upsert.failed == 0
        assert env.get("account", drift["account"]) is not None  # upsert leaves extra rows alone
        assert env.get("task", drift["task"]) is not None
        mirror = restore(env, snapshot, RestoreOptions(mode="mirror", journal=tmp_path / "m.sqlite"))
        assert mirror.failed == 0 and mirror.tables["account"].deleted == 1
        assert env.get("account", drift["account"]) is None
        _assert_equal(snap, env, tables)
        for table in tables:
            assert env.count(table) == snap.rows(table), table


def test_create_only_and_update_only(snapshot: Path, start_emulator: Start, tmp_path: Path) -> None:
    url, drift = _restored_then_drifted(snapshot, start_emulator, tmp_path)
    snap = Snapshot.open(snapshot)
    with connected(url) as env:
        created = restore(env, snapshot, RestoreOptions(mode="create-only", tables=("contact", "task"),
                                                        journal=tmp_path / "c.sqlite"))
        assert created.failed == 0, created.failures[:3]
        assert env.get("task", drift["task"]) is not None  # the missing row was created
        assert env.get("contact", drift["contact"])["jobtitle"] == "drifted in the target"  # type: ignore[index]
        assert env.count("task") == snap.rows("task")
        assert created.tables["contact"].skipped == snap.rows("contact")  # existing rows left alone
        assert created.tables["task"].skipped == snap.rows("task") - 1
        env.delete("task", drift["task"])
        updated = restore(env, snapshot, RestoreOptions(mode="update-only", tables=("contact", "task"),
                                                        journal=tmp_path / "up.sqlite"))
        assert updated.failed == 0, updated.failures[:3]
        assert env.get("task", drift["task"]) is None  # update-only creates nothing
        assert env.get("contact", drift["contact"])["jobtitle"] != "drifted in the target"  # type: ignore[index]
        assert env.count("task") == snap.rows("task") - 1
        assert updated.tables["task"].skipped >= 1 and updated.tables["contact"].skipped == 0


def test_production_target_is_refused(snapshot: Path, start_emulator: Start, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = start_emulator(EmulatorConfig(demo=True, records=0, seed=3, production=True))
    with connected(url) as env:
        with pytest.raises(SafetyError):
            restore(env, snapshot, RestoreOptions(tables=("account",), journal=tmp_path / "p.sqlite"))
        assert env.count("account") == 0
    monkeypatch.chdir(tmp_path)
    assert _run(["restore", str(snapshot), "--env", url, "--tables", "account"]) == 10
    with connected(url) as env:
        assert env.count("account") == 0
    assert _run(["restore", str(snapshot), "--env", url, "--allow-production",
                 "--report", str(tmp_path / "r.json")]) == 0
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["failed"] == 0 and report["failures"] == []
    assert all(set(t) >= {"written", "failed"} for t in report["tables"].values())
    assert report["tables"]["account"]["written"] == Snapshot.open(snapshot).rows("account")
    assert report["tables"]["account"]["failed"] == 0 and report["failed"] == 0
    with connected(url) as env:
        assert env.count("account") == Snapshot.open(snapshot).rows("account")


def test_failed_row_is_reported_and_retried(snapshot: Path, start_emulator: Start, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    snap = Snapshot.open(snapshot)
    referenced = {ref[1] for t in snap.tables for r in snap.records(t)
                  for lk in snap.schema.table(t).lookups if (ref := lookup_of(r, lk.column))}
    leaves = [c for c in ids_of(snap, "contact") if c not in referenced]  # no row points at them
    too_long, orphan = leaves[0], leaves[1]
    missing_account = str(uuid.uuid4())

    def edit(table: str, record: Record) -> Record:
        if table == "contact" and record["contactid"] == too_long:
            record["lastname"] = "x" * 5000
        if table == "contact" and record["contactid"] == orphan:
            record["_parentcustomerid_value"] = missing_account  # points at an account nobody exported
            record["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = "account"
        return record

    edited = tmp_path / "edited"
    rewrite_snapshot(snapshot, edited, edit)
    url = start_emulator(EMPTY_SANDBOX)
    monkeypatch.chdir(tmp_path)
    args = ["restore", str(edited), "--env", url, "--journal", str(tmp_path / "j.sqlite"),
            "--report", str(tmp_path / "report.json")]
    assert _run(args) == 8
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    assert report["failed"] == 2 and report["tables"]["contact"]["failed"] == 2
    assert report["tables"]["contact"]["written"] == snap.rows("contact") - 2
    by_id = {f["id"]: f for f in report["failures"]}
    assert by_id[too_long]["code"] == "0x80044331" and "lastname" in by_id[too_long]["message"]
    assert by_id[orphan]["status"] == 404 and missing_account in by_id[orphan]["message"]
    # fix the target side for the orphan, then re-send only the failed rows
    with connected(url) as env:
        env.create("account", {"accountid": missing_account, "name": "Created to fix the restore"})
    before = emulator_stats(url)["records_written"]
    assert _run([*args, "--retry-failed"]) == 8  # the too-long row still fails
    written = emulator_stats(url)["records_written"] - before
    assert written == 1, written
    retried = orjson.loads((tmp_path / "report.json").read_bytes())
    assert [f["id"] for f in retried["failures"]] == [too_long]
    with connected(url) as env:
        fixed = env.get("contact", orphan)
        assert fixed is not None and fixed["_parentcustomerid_value"] == missing_account
        assert env.get("contact", too_long) is None


def test_as_of_restores_the_chain_at_that_time(start_emulator: Start, tmp_path: Path) -> None:
    source = start_emulator(SOURCE)
    chain = tmp_path / "chain"
    chain.mkdir()
    export_to(source, chain / "monday")
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    with connected(source) as env:
        added = str(uuid.uuid4())
        env.create("account", {"accountid": added, "name": "Added on Tuesday"})
    export_to(source, chain / "tuesday", ExportOptions(since=chain / "monday"))
    monday = Snapshot.open(chain / "monday")
    target = start_emulator(EMPTY_SANDBOX)
    with connected(target) as env:
        report = restore(env, chain / "tuesday", RestoreOptions(as_of=between, tables=("account", "contact"),
                                                                journal=tmp_path / "asof.sqlite"))
        assert report.snapshot == str(chain / "monday")
        assert env.get("account", added) is None
        assert env.count("account") == monday.rows("account")
        latest = restore(env, chain / "tuesday", RestoreOptions(tables=("account", "contact"),
                                                                journal=tmp_path / "latest.sqlite"))
        assert latest.failed == 0 and env.get("account", added) is not None
