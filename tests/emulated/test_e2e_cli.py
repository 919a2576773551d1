"""The command line end to end over real HTTP: export, verify, query, plan, restore --dry-run, diff — exit codes
and the JSON shapes pipelines read."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from seeder.cli import main
from seeder.snapshot import Snapshot
from tests.emulated.e2e_support import EMPTY_SANDBOX, SOURCE, connected, emulator_stats

Start = Callable[..., str]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> Any:
    rc, out, err = run(capsys, *args)
    assert rc == code, (rc, out[-1000:], err[-1000:])
    return orjson.loads(out)


def test_export_verify_query_plan_diff(start_emulator: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = start_emulator(SOURCE)
    snap = tmp_path / "snap"
    exported = run_json(capsys, "export", "--env", url, "--out", str(snap), "--json")
    assert exported["path"] == str(snap) and exported["incremental"] is False
    assert exported["source"]["organization_id"] and exported["warnings"] == []
    with connected(url) as env:
        assert exported["tables"]["contact"]["rows"] == env.count("contact")
        assert exported["rows"] == sum(t["rows"] for t in exported["tables"].values())
        names = sorted(str(r["name"]) for r in env.iter_records("account", select=["name"]))

    verified = run_json(capsys, "verify", str(snap), "--json")
    assert verified["ok"] is True and verified["problems"] == []
    rc, out, _ = run(capsys, "verify", str(snap))
    assert rc == 0 and out.startswith("ok")

    letter = names[0][0]
    found = run_json(capsys, "query", str(snap), "account", "--filter", f"startswith(name,'{letter}')", "--json")
    assert found["table"] == "account"
    assert found["count"] == len(found["records"]) == sum(1 for n in names if n.startswith(letter))
    assert all(r["name"].startswith(letter) for r in found["records"])
    rc, _, err = run(capsys, "query", str(snap), "account", "--filter", "name eq")
    assert rc == 2 and "error" in err  # bad OData is a usage error

    plan = run_json(capsys, "plan", "--snapshot", str(snap), "--format", "json")
    steps = plan["steps"]
    order = [s["table"] for s in steps if s["action"] == "upsert"]
    assert order.index("account") < order.index("opportunity")
    assert all(set(s) >= {"table", "action", "lookups"} for s in steps)
    assert {"table", "column", "targets"} <= set(plan["deferred"][0])
    assert isinstance(plan["cycles"], list)

    again = tmp_path / "again"
    run_json(capsys, "export", "--env", url, "--out", str(again), "--json")
    same = run_json(capsys, "diff", str(snap), str(again), "--json")
    assert same["equal"] is True
    assert all(set(t) >= {"added", "changed", "deleted"} for t in same["tables"].values())
    with connected(url) as env:
        contact = next(iter(env.iter_records("contact")))
        env.update("contact", contact["contactid"], {"jobtitle": "changed after the export"})
    changed = run_json(capsys, "diff", str(snap), url, "--tables", "contact,account", "--records", "--json", code=1)
    assert changed["tables"]["contact"]["changed"] == 1
    assert changed["tables"]["contact"]["records"]["changed"] == [contact["contactid"]]
    assert changed["tables"]["account"] == {"added": 0, "changed": 0, "deleted": 0,
                                            "unchanged": Snapshot.open(snap).rows("account"),
                                            "records": {"added": [], "changed": [], "deleted": []}}

    # damage one chunk: verify exits 6 and names the file
    chunk = sorted((snap / "data" / "contact").glob("*"))[0]
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    damaged = run_json(capsys, "verify", str(snap), "--json", code=6)
    assert damaged["ok"] is False and any(chunk.name in p for p in damaged["problems"])


def test_restore_dry_run_json_and_exit_codes(start_emulator: Start, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = start_emulator(SOURCE)
    snap = tmp_path / "snap"
    run_json(capsys, "export", "--env", source, "--out", str(snap), "--json")
    target = start_emulator(EMPTY_SANDBOX)
    before = emulator_stats(target)["records_written"]
    preview = run_json(capsys, "restore", str(snap), "--env", target, "--dry-run", "--json")
    assert preview["dry_run"] is True and preview["safe"] is True and preview["failed"] == 0
    rows = Snapshot.open(snap)
    assert preview["tables"]["contact"]["would_create"] == rows.rows("contact")
    assert preview["tables"]["account"]["would_create"] == rows.rows("account")
    assert all(set(t) >= {"written", "failed"} for t in preview["tables"].values())
    assert {"table", "column", "targets"} <= set(preview["deferred"][0])
    assert emulator_stats(target)["records_written"] == before  # a dry run writes nothing
    _, out, err = run(capsys, "restore", str(snap), "--env", target, "--dry-run")
    assert "Dry run against" in out and "target:" in err  # the target is named before anything happens
    done = run_json(capsys, "restore", str(snap), "--env", target, "--json")
    assert done["failed"] == 0 and done["verified"] is True and done["written"] > 0
    assert Path(done["journal"]).is_file()  # the journal lives beside the run
    run_json(capsys, "diff", str(snap), target, "--tables", "account,contact,lead,task", "--json")
    rc, _, err = run(capsys, "restore", str(snap), "--env", target, "--mode", "sideways")
    assert rc == 2 and "mode" in err
    rc, _, err = run(capsys, "restore", str(snap), "--env", target, "--ids", "contact")
    assert rc == 2


def test_encrypted_export_incremental_and_subset(start_emulator: Start, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = start_emulator(SOURCE)
    key = os.urandom(32)
    monkeypatch.setenv("SEEDER_SNAPSHOT_KEY", key.hex())
    full = tmp_path / "full"
    run_json(capsys, "export", "--env", url, "--out", str(full), "--encrypt", "--json")
    monkeypatch.delenv("SEEDER_SNAPSHOT_KEY")
    assert run_json(capsys, "verify", str(full), "--json")["encrypted"] is True
    rc, _, err = run(capsys, "query", str(full), "account", "--json")
    assert rc != 0 and "key" in err.lower()
    monkeypatch.setenv("SEEDER_SNAPSHOT_KEY", key.hex())
    assert run_json(capsys, "query", str(full), "account", "--json")["count"] == Snapshot.open(full).rows("account")

    with connected(url) as env:
        pk = env.schema(["task"]).table("task").primary_id
        ids = [str(r[pk]) for r in env.iter_records("task", select=[pk])]
        for rid in ids[: len(ids) * 2 // 3]:
            env.delete("task", rid)
    rc, out, err = run(capsys, "export", "--env", url, "--out", str(tmp_path / "inc"), "--since", str(full),
                       "--json")
    assert rc == 0, err
    inc = orjson.loads(out)
    assert inc["incremental"] is True and inc["tables"]["task"]["deleted"] == len(ids) * 2 // 3
    assert "warning: task:" in err and inc["warnings"]
    assert run_json(capsys, "diff", str(tmp_path / "inc"), url, "--tables", "task,contact", "--json")["equal"]

    monkeypatch.delenv("SEEDER_SNAPSHOT_KEY")
    subset = tmp_path / "subset.yaml"
    subset.write_text("roots:\n  contact: \"startswith(lastname,'A')\"\nparents: required\n", encoding="utf-8")
    sub = run_json(capsys, "export", "--env", url, "--out", str(tmp_path / "sub"), "--subset", str(subset),
                   "--json")
    assert 0 < sub["tables"]["contact"]["rows"] < Snapshot.open(full, key=key).rows("contact")
    subset.write_text("children: []\n", encoding="utf-8")
    rc, _, err = run(capsys, "export", "--env", url, "--out", str(tmp_path / "bad"), "--subset", str(subset))
    assert rc == 2 and "roots" in err
