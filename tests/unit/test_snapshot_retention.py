"""Listing and pruning snapshots: daily/weekly/monthly/yearly policies, dry runs, chain protection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from snapshot_support import SCHEMA, accounts

from seeder.errors import UsageError
from seeder.snapshot import Retention, SnapshotWriter, list_snapshots, prune


def full(root: Path, when: datetime, n: int = 2) -> Path:
    path = root / when.strftime("%Y-%m-%dT%H%M")
    with SnapshotWriter(path, schema=SCHEMA, source=None, created=when) as writer:
        writer.write_table("account", accounts(n))
    return path


def incremental(root: Path, when: datetime, parent: Path) -> Path:
    path = root / when.strftime("%Y-%m-%dT%H%M")
    with SnapshotWriter(path, schema=SCHEMA, source=None, created=when, parent=parent) as writer:
        writer.write_tombstones("account", [])
    return path


START = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def test_list_snapshots_describes_each_and_skips_unfinished(tmp_path: Path) -> None:
    a = full(tmp_path, START, n=5)
    b = incremental(tmp_path, START + timedelta(days=1), a)
    (tmp_path / "x.partial-123").mkdir()
    (tmp_path / "notes").mkdir()
    infos = list_snapshots(tmp_path)
    assert [i.path for i in infos] == [a, b]
    assert infos[0].rows == 5 and not infos[0].incremental and infos[0].size > 0
    assert infos[1].incremental and infos[1].parent == a
    assert infos[0].created == START
    assert infos[1].to_dict()["kind"] == "incremental"


def test_daily_weekly_monthly_yearly(tmp_path: Path) -> None:
    # one full snapshot a day for 400 days would be slow; every 3 days is enough to see the buckets
    made = [full(tmp_path, START + timedelta(days=3 * i), n=1) for i in range(140)]
    newest = made[-1]
    report = prune(tmp_path, Retention(keep_daily=3, keep_weekly=2, keep_monthly=3, keep_yearly=2), dry_run=True)
    assert report.dry_run and all(p.exists() for p in made)
    kept = set(report.kept)
    assert newest in kept
    # daily: Feb 22, 19, 16 2027; weekly: Feb 22 (W08) and Feb 19 (W07); monthly: Feb 2027, Jan 29 2027,
    # Dec 30 2026; yearly: 2027 and Dec 30 2026
    assert sorted(p.name for p in kept) == ["2026-12-30T0300", "2027-01-29T0300", "2027-02-16T0300",
                                            "2027-02-19T0300", "2027-02-22T0300"]
    reasons = report.reasons
    assert reasons[str(newest)] == ["daily 2027-02-22", "weekly 2027-W08", "monthly 2027-02", "yearly 2027"]
    assert reasons[str(tmp_path / "2026-12-30T0300")] == ["monthly 2026-12", "yearly 2026"]
    assert len(kept) + len(report.deleted) == 140
    assert len(kept) <= 3 + 2 + 3 + 2

    real = prune(tmp_path, Retention(keep_daily=3, keep_weekly=2, keep_monthly=3, keep_yearly=2))
    assert set(real.kept) == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)


def test_kept_incrementals_keep_their_whole_chain(tmp_path: Path) -> None:
    base = full(tmp_path, START)
    day1 = incremental(tmp_path, START + timedelta(days=1), base)
    day2 = incremental(tmp_path, START + timedelta(days=2), day1)
    other = full(tmp_path, START + timedelta(days=3))
    day4 = incremental(tmp_path, START + timedelta(days=4), other)
    report = prune(tmp_path, Retention(keep_daily=1))
    assert report.kept == [other, day4]
    assert set(report.deleted) == {base, day1, day2}
    report = prune(tmp_path, Retention(keep_last=1))
    assert report.kept == [other, day4] and report.deleted == []
    assert report.reasons[str(other)] == [f"parent of {day4.name}"]


def test_chain_protection_reaches_back_through_several_parents(tmp_path: Path) -> None:
    base = full(tmp_path, START)
    day1 = incremental(tmp_path, START + timedelta(days=40), base)
    day2 = incremental(tmp_path, START + timedelta(days=80), day1)
    unrelated = full(tmp_path, START + timedelta(days=10))
    report = prune(tmp_path, Retention(keep_last=1), dry_run=True)
    assert set(report.kept) == {base, day1, day2}
    assert report.deleted == [unrelated]


def test_a_policy_must_keep_something() -> None:
    with pytest.raises(UsageError):
        Retention()
    with pytest.raises(UsageError):
        Retention(keep_daily=-1)
