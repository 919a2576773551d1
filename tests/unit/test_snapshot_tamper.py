"""Damage of every kind is caught by verify (without the key) and by the reader; crashes leave nothing."""

from __future__ import annotations

import base64
import json
import os
import random
from pathlib import Path

import pytest
from snapshot_support import ORG, SCHEMA, accounts, contacts

from seeder.errors import SnapshotError
from seeder.snapshot import Snapshot, SnapshotWriter, list_snapshots, verify

KEY = bytes(range(32))


def make(path: Path, key: bytes | None, *, n: int = 60) -> Path:
    parents = accounts(n)
    with SnapshotWriter(path, schema=SCHEMA, source=ORG, key=key, chunk_rows=20) as writer:
        writer.write_table("account", parents)
        writer.write_table("contact", contacts(n, parents))
        writer.write_component("solutions/demo.json", b'{"uniquename": "demo"}')
    return path


def chunk(path: Path, key: bytes | None, table: str = "account", index: int = 1) -> Path:
    return path / "data" / table / (f"{index:05d}.jsonl.zst" + (".enc" if key else ""))


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture(params=[None, KEY], ids=["plain", "encrypted"])
def key(request: pytest.FixtureRequest) -> bytes | None:
    return request.param  # type: ignore[no-any-return]


def test_intact_snapshot_verifies(tmp_path: Path, key: bytes | None) -> None:
    report = verify(make(tmp_path / "s", key))
    assert report.ok and report.problems == []
    assert report.rows == 120 and report.files_checked == 8
    assert report.rows_counted is (key is None)
    assert json.dumps(report.to_dict())


@pytest.mark.parametrize("offset", [0, 17, -20, -1])
def test_byte_flip_is_caught_by_verify_and_reader(tmp_path: Path, key: bytes | None, offset: int) -> None:
    path = make(tmp_path / "s", key)
    target = chunk(path, key)
    flip(target, offset)
    report = verify(path)
    assert not report.ok
    assert any(target.name in p and "sha256" in p for p in report.problems)
    with pytest.raises(SnapshotError):
        list(Snapshot.open(path, key).records("account"))


def test_truncation_is_caught(tmp_path: Path, key: bytes | None) -> None:
    path = make(tmp_path / "s", key)
    target = chunk(path, key, "contact", 2)
    target.write_bytes(target.read_bytes()[:-9])
    report = verify(path)
    assert any("contact/00002" in p and "truncated" in p for p in report.problems)
    with pytest.raises(SnapshotError):
        list(Snapshot.open(path, key).records("contact"))


def test_deleted_chunk_and_extra_file_are_named(tmp_path: Path, key: bytes | None) -> None:
    path = make(tmp_path / "s", key)
    chunk(path, key, "contact", 0).unlink()
    (path / "data" / "account" / "stray.jsonl").write_text("{}\n")
    problems = verify(path).problems
    assert any("contact/00000" in p and "missing" in p for p in problems)
    assert any("stray.jsonl" in p and "extra file" in p for p in problems)


def test_edited_manifest_is_caught(tmp_path: Path, key: bytes | None) -> None:
    path = make(tmp_path / "s", key)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["tables"]["account"]["rows"] = 59
    (path / "manifest.json").write_text(json.dumps(manifest))
    report = verify(path)
    assert any("manifest.json: edited" in p for p in report.problems)
    assert any("table account" in p for p in report.problems)
    with pytest.raises(SnapshotError, match="edited"):
        Snapshot.open(path, key)


def test_manifest_and_schema_removed_or_damaged(tmp_path: Path) -> None:
    path = make(tmp_path / "s", None)
    flip(path / "schema.json", 10)
    assert any("schema.json" in p for p in verify(path).problems)
    (path / "manifest.sha256").unlink()
    assert any("manifest.sha256" in p for p in verify(path).problems)
    (path / "manifest.json").unlink()
    assert any("manifest.json: missing" in p for p in verify(path).problems)


def test_plain_chunk_rewritten_with_consistent_hash_but_wrong_count(tmp_path: Path) -> None:
    """An attacker who also fixes the hashes is still caught by the manifest checksum."""
    path = make(tmp_path / "s", None)
    target = chunk(path, None)
    target.write_bytes(chunk(path, None, index=0).read_bytes())
    report = verify(path)
    assert not report.ok


def test_encrypted_frames_cannot_be_cut_or_swapped(tmp_path: Path) -> None:
    rng = random.Random(3)
    big = [{"accountid": f"{i:04d}", "blob": base64.b64encode(rng.randbytes(6000)).decode()} for i in range(400)]
    path = tmp_path / "s"
    with SnapshotWriter(path, schema=SCHEMA, source=None, key=KEY, chunk_rows=1000) as writer:
        writer.write_table("account", big)
    target = chunk(path, KEY, index=0)
    data = target.read_bytes()
    assert len(data) > 2 * (1 << 20)  # several frames
    assert list(Snapshot.open(path, KEY).records("account")) == big
    # drop the final frame exactly at a frame boundary
    first_len = int.from_bytes(data[8:12], "big")
    second_start = 8 + 4 + 12 + first_len
    second_len = int.from_bytes(data[second_start:second_start + 4], "big")
    cut = second_start + 4 + 12 + second_len
    target.write_bytes(data[:cut])
    with pytest.raises(SnapshotError, match="authentication failed"):
        list(Snapshot.open(path, KEY).records("account"))
    # the same frames moved to another chunk path fail too (path is bound as associated data)
    target.write_bytes(data)
    moved = path / "data" / "account" / "00001.jsonl.zst.enc"
    os.rename(target, moved)
    forced = Snapshot(path, Snapshot.open(path).manifest, "", KEY)
    from seeder.snapshot.chunks import iter_chunk_lines

    with pytest.raises(SnapshotError, match="authentication failed"):
        list(iter_chunk_lines(moved, "data/account/00001.jsonl.zst.enc", KEY))
    assert forced.tables == ["account"]


def test_crash_before_close_leaves_nothing_that_looks_complete(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    with pytest.raises(RuntimeError), SnapshotWriter(target, schema=SCHEMA, source=None) as writer:
        writer.write_table("account", accounts(50))
        raise RuntimeError("export interrupted")
    assert list(tmp_path.iterdir()) == []
    # a hard crash (no close, no cleanup): only a DIR.partial-* remains and nobody takes it for a snapshot
    writer = SnapshotWriter(target, schema=SCHEMA, source=None, chunk_rows=7)
    writer.write_table("account", accounts(50))
    assert not target.exists()
    [partial] = list(tmp_path.iterdir())
    assert partial.name.startswith("snap.partial-")
    assert not verify(partial).ok
    with pytest.raises(SnapshotError, match="did not finish"):
        Snapshot.open(partial)
    assert list_snapshots(tmp_path) == []
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_failure_inside_the_record_stream_aborts_cleanly(tmp_path: Path) -> None:
    def rows() -> object:
        yield from accounts(30)
        raise ConnectionError("source went away")

    with pytest.raises(ConnectionError), SnapshotWriter(tmp_path / "s", schema=SCHEMA, source=None) as writer:
        writer.write_table("account", rows())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_unless_told(tmp_path: Path) -> None:
    path = make(tmp_path / "s", None)
    with pytest.raises(SnapshotError, match="already exists"):
        SnapshotWriter(path, schema=SCHEMA, source=None)
    with SnapshotWriter(path, schema=SCHEMA, source=None, overwrite=True) as writer:
        writer.write_table("task", [{"activityid": "1"}])
    assert Snapshot.open(path).tables == ["task"]
    assert verify(path).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_a_rewritten_manifest_cannot_point_outside_the_snapshot(tmp_path: Path) -> None:
    import hashlib

    path = make(tmp_path / "s", None)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["tables"]["account"]["chunks"][0]["file"] = "../../etc/passwd"
    raw = json.dumps(manifest).encode()
    (path / "manifest.json").write_bytes(raw)
    (path / "manifest.sha256").write_text(hashlib.sha256(raw).hexdigest() + "  manifest.json\n")
    with pytest.raises(SnapshotError, match="segments"):
        Snapshot.open(path)
    assert not verify(path).ok
