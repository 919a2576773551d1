"""Chaos over real HTTP: a restore killed with SIGKILL at random moments and resumed, and a restore through
injected 429s, 503s and connection resets; both must end with the target identical to the snapshot."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from seeder.diff import diff
from seeder.emulator import EmulatorConfig
from seeder.restore import RestoreOptions, restore
from seeder.snapshot import Snapshot
from tests.emulated.e2e_support import REFERENCE, connected, emulator_stats, export_to

Start = Callable[..., str]
REPO = Path(__file__).resolve().parents[2]
KILLS = 3


def _equal_and_no_duplicates(snapshot: Path, url: str) -> None:
    snap = Snapshot.open(snapshot)
    tables = [t for t in snap.tables if t not in REFERENCE]
    with connected(url) as env:
        check = diff(snap, env, tables=tables)
        assert check.equal, {k: v.to_dict() for k, v in check.tables.items() if not v.equal}
        for table in tables:
            assert env.count(table) == snap.rows(table), table


def _restore_cmd(snapshot: Path, url: str, journal: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seeder", "restore", str(snapshot), "--env", url, "--journal", str(journal),
            "--batch-size", "10", "--report", str(journal.with_suffix(".json")), *extra]


def test_kill_nine_and_resume(start_emulator: Start, tmp_path: Path) -> None:
    source = start_emulator(EmulatorConfig(demo=True, records=4000, seed=5))
    snapshot = tmp_path / "snap"
    export_to(source, snapshot)
    target = start_emulator(EmulatorConfig(demo=True, records=0, seed=5))
    journal = tmp_path / "restore.journal.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    total = sum(Snapshot.open(snapshot).rows(t) for t in ("account", "contact", "lead", "task", "email"))
    # kill at random points of progress (records the target has taken), not at guessed times
    moments = sorted(int(total * rng.uniform(0.05, 0.9)) for _ in range(KILLS))
    killed: list[int] = []
    for n, moment in enumerate(moments):
        args = _restore_cmd(snapshot, target, journal, *(["--resume"] if n else []))
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if emulator_stats(target)["records_written"] >= moment:
                proc.send_signal(signal.SIGKILL)
                killed.append(moment)
                break
            time.sleep(0.01)
        proc.wait(timeout=30)
    written_before_resume = emulator_stats(target)["records_written"]
    final = subprocess.run(_restore_cmd(snapshot, target, journal, "--resume"), capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=120)
    assert final.returncode == 0, (moments, final.stdout[-2000:], final.stderr[-2000:])
    assert len(killed) >= 2, f"runs ended before the kill points {moments}: make the restore longer"
    assert written_before_resume > 0, "the killed runs wrote nothing"
    report = orjson.loads(journal.with_suffix(".json").read_bytes())
    assert report["resumed"] is True and report["failed"] == 0
    _equal_and_no_duplicates(snapshot, target)


@pytest.mark.parametrize("seed", [11])
def test_faults_end_identical(seed: int, start_emulator: Start, tmp_path: Path) -> None:
    source = start_emulator(EmulatorConfig(demo=True, records=1000, seed=seed))
    snapshot = tmp_path / "snap"
    export_to(source, snapshot)
    target = start_emulator(EmulatorConfig(demo=True, records=0, seed=seed, faults="429=0.05,503=0.02,reset=0.01"))
    with connected(target) as env:
        report = restore(env, snapshot, RestoreOptions(journal=tmp_path / "j.sqlite", batch_size=25))
        assert report.failed == 0, report.failures[:3]
        assert report.verified
        retries = env.stats.retries
    stats = emulator_stats(target)
    assert stats["faults_injected"] > 0 and retries > 0
    _equal_and_no_duplicates(snapshot, target)
