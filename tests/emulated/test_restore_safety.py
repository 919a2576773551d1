"""Restore and export edge cases: loops in self-references, unfinished runs, chains, filters and incrementals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import EMPTY_SANDBOX, SOURCE, connected, export_to, rewrite_snapshot

from seeder.emulator import EmulatorConfig
from seeder.errors import RestoreError, UsageError
from seeder.export import ExportOptions, Subset
from seeder.model import OrgInfo
from seeder.records import lookup_of
from seeder.restore import RestoreOptions, restore
from seeder.restore.run import resolve_as_of
from seeder.snapshot import Snapshot

ANN = "_parentaccountid_value@Microsoft.Dynamics.CRM.lookuplogicalname"


def test_accounts_that_are_each_others_parent_both_keep_their_parent(
        start_emulator: Callable[..., str], tmp_path: Path) -> None:
    source = start_emulator(SOURCE)
    export_to(source, tmp_path / "snap", ExportOptions(tables=("account", "contact")))
    ids = [str(r["accountid"]) for r in Snapshot.open(tmp_path / "snap").records("account")][:2]

    def loop(table: str, record: dict[str, object]) -> dict[str, object]:
        if table == "account" and record["accountid"] in ids:
            other = ids[1] if record["accountid"] == ids[0] else ids[0]
            record = {**record, "_parentaccountid_value": other, ANN: "account"}
        return record

    rewrite_snapshot(tmp_path / "snap", tmp_path / "looped", loop)
    target = start_emulator(EMPTY_SANDBOX)
    with connected(target) as env:
        report = restore(env, tmp_path / "looped", RestoreOptions(journal=tmp_path / "j.sqlite"))
        assert report.failed == 0 and report.verified
        parents = {str(r["accountid"]): lookup_of(r, "parentaccountid")
                   for r in env.iter_records("account") if str(r["accountid"]) in ids}
    assert parents[ids[0]] is not None and parents[ids[0]][1].lower() == ids[1].lower()
    assert parents[ids[1]] is not None and parents[ids[1]][1].lower() == ids[0].lower()


def test_retry_failed_refuses_an_unfinished_run(start_emulator: Callable[..., str], tmp_path: Path) -> None:
    source, target = start_emulator(SOURCE), start_emulator(EMPTY_SANDBOX)
    export_to(source, tmp_path / "snap", ExportOptions(tables=("account", "contact")))
    with connected(target) as env:
        with pytest.raises(RestoreError, match="did not finish"):
            restore(env, tmp_path / "snap", RestoreOptions(journal=tmp_path / "new.sqlite", retry_failed=True))


def test_unknown_and_default_environments_need_an_override() -> None:
    for kind in ("Production", "Default", "Unknown", ""):
        assert OrgInfo("x", "x", "u", environment_type=kind).needs_override, kind
    for kind in ("Sandbox", "Developer", "Trial"):
        assert not OrgInfo("x", "x", "u", environment_type=kind).needs_override, kind


def test_as_of_only_picks_from_the_snapshots_own_chain(start_emulator: Callable[..., str], tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    source = start_emulator(SOURCE)
    root = tmp_path / "snapshots"
    export_to(source, root / "a-full", ExportOptions(tables=("account",)))
    export_to(source, root / "b-other-chain", ExportOptions(tables=("account",)))  # unrelated, newer
    export_to(source, root / "c-incremental", ExportOptions(tables=("account",), since=root / "a-full"))
    now = datetime.now(UTC) + timedelta(seconds=5)
    assert resolve_as_of(root / "c-incremental", now) == root / "c-incremental"
    full_time = Snapshot.open(root / "a-full").manifest.created
    picked = resolve_as_of(root / "c-incremental", datetime.fromisoformat(str(full_time).replace("Z", "+00:00"))
                           if isinstance(full_time, str) else full_time)
    assert picked == root / "a-full"  # b-other-chain was never a candidate
    with pytest.raises(UsageError, match="chain"):
        resolve_as_of(root / "c-incremental", datetime(2000, 1, 1, tzinfo=UTC))


def test_incrementals_keep_filters_and_components(start_emulator: Callable[..., str], tmp_path: Path) -> None:
    source = start_emulator(SOURCE)
    base = export_to(source, tmp_path / "base", ExportOptions(filters={"account": "startswith(name,'A')"}))
    tokens = Snapshot.open(tmp_path / "base").component("state/delta_tokens.json")
    assert b'"account"' not in tokens  # a filtered table takes no change-tracking token
    assert base.tables["account"]["rows"] > 0
    export_to(source, tmp_path / "inc", ExportOptions(filters={"account": "startswith(name,'A')"},
                                                     since=tmp_path / "base"))
    inc = Snapshot.open(tmp_path / "inc")
    assert all(str(r["name"]).startswith("A") for r in inc.resolved_records("account"))
    components = dict(inc.components())
    assert "inventory.json" in components and "solutions/SeederDemo.zip" in components
    with pytest.raises(UsageError, match="cannot be combined"):
        export_to(source, tmp_path / "bad", ExportOptions(since=tmp_path / "base",
                                                         subset=Subset(roots={"account": "name ne null"})))


def test_export_leaves_the_services_own_tables_out_unless_named(start_emulator: Callable[..., str],
                                                                 tmp_path: Path) -> None:
    source = start_emulator(SOURCE)
    export_to(source, tmp_path / "all")
    tables = set(Snapshot.open(tmp_path / "all").tables)
    assert "account" in tables and not tables & {"asyncoperation", "importjob"}
    export_to(source, tmp_path / "named", ExportOptions(tables=("asyncoperation",)))
    assert "asyncoperation" in Snapshot.open(tmp_path / "named").tables


def test_resumed_create_only_tells_its_own_rows_from_rows_that_were_there(
        start_emulator: Callable[..., str], tmp_path: Path) -> None:
    import sqlite3
    import time

    source, target = start_emulator(SOURCE), start_emulator(EMPTY_SANDBOX)
    export_to(source, tmp_path / "snap", ExportOptions(tables=("account", "contact")))
    snap = Snapshot.open(tmp_path / "snap")
    there = [r for r in snap.records("contact")][:5]  # rows the target holds before the run
    with connected(target) as env:
        assert all(r.ok for r in env.write_many("contact", [(str(r["contactid"]), {"lastname": "already here"})
                                                            for r in there]))
        time.sleep(1.1)  # createdon has one-second resolution
        journal = tmp_path / "j.sqlite"
        first = restore(env, tmp_path / "snap", RestoreOptions(journal=journal, mode="create-only"))
        assert first.tables["contact"].skipped == 5
        with sqlite3.connect(journal) as db:  # as if the process had died before recording any chunk
            db.execute("DELETE FROM done")
            db.execute("DELETE FROM meta WHERE key = 'completed'")
        again = restore(env, tmp_path / "snap", RestoreOptions(journal=journal, mode="create-only", resume=True))
        assert again.failed == 0
        assert again.tables["contact"].skipped == 5  # only the rows that were really there before
        assert again.tables["contact"].written == first.tables["contact"].written
        kept = {str(r["contactid"]).lower(): r.get("lastname") for r in env.iter_records("contact")}
        assert all(kept[str(r["contactid"]).lower()] == "already here" for r in there)


def test_an_incremental_keeps_canvas_app_shares(start_emulator: Callable[..., str], tmp_path: Path) -> None:
    from seeder.components import SHARED_WITH_KEY

    source = start_emulator(EmulatorConfig(demo=True, records=50, seed=3))
    export_to(source, tmp_path / "base")
    with connected(source) as env:  # the app row changes, so change tracking would report it
        app = next(iter(env.iter_records("canvasapp")))
        env.update("canvasapp", str(app["canvasappid"]), {"description": "changed"})
    export_to(source, tmp_path / "inc", ExportOptions(since=tmp_path / "base"))
    rows = list(Snapshot.open(tmp_path / "inc").resolved_records("canvasapp"))
    assert rows and all(r.get(SHARED_WITH_KEY) for r in rows)
