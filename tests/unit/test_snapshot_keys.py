"""Snapshot keys: hex, base64, key files; bad keys are refused without echoing them; query over a snapshot."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from snapshot_support import SCHEMA, accounts, by_id

from seeder.errors import UsageError
from seeder.snapshot import KEY_ENV, Snapshot, SnapshotWriter, generate_key, key_id, load_key, query

RAW = bytes(range(100, 132))


def test_key_from_environment_in_hex_and_base64() -> None:
    assert load_key({KEY_ENV: RAW.hex()}) == RAW
    assert load_key({KEY_ENV: base64.b64encode(RAW).decode()}) == RAW
    assert load_key({KEY_ENV: base64.urlsafe_b64encode(RAW).decode().rstrip("=")}) == RAW
    assert load_key({}) is None
    assert len(bytes.fromhex(generate_key())) == 32


def test_key_file_wins_and_may_be_raw(tmp_path: Path) -> None:
    text = tmp_path / "key.txt"
    text.write_text(RAW.hex() + "\n")
    assert load_key({KEY_ENV: "00" * 32}, text) == RAW
    raw = tmp_path / "key.bin"
    raw.write_bytes(RAW)
    assert load_key({}, raw) == RAW
    with pytest.raises(UsageError, match="cannot read"):
        load_key({}, tmp_path / "absent")


@pytest.mark.parametrize("value", ["abc", "zz" * 32, base64.b64encode(b"x" * 31).decode(), "00" * 33])
def test_bad_keys_are_refused_without_echo(value: str) -> None:
    with pytest.raises(UsageError) as caught:
        load_key({KEY_ENV: value})
    assert value not in str(caught.value) and value not in str(caught.value.to_dict())


def test_key_id_is_stable_and_reveals_nothing() -> None:
    assert key_id(RAW) == key_id(RAW) != key_id(bytes(32))
    assert RAW.hex()[:8] not in key_id(RAW)


def test_query_filters_offline(tmp_path: Path) -> None:
    rows = accounts(30)
    with SnapshotWriter(tmp_path / "s", schema=SCHEMA, source=None, key=RAW) as writer:
        writer.write_table("account", rows)
    snapshot = Snapshot.open(tmp_path / "s", RAW)
    found = list(query(snapshot, "account", "revenue ge 30 and revenue lt 36"))
    assert found == by_id([r for r in rows if 30 <= r["revenue"] < 36], "accountid")
    assert len(list(query(snapshot, "account", None))) == 30
    assert len(list(query(snapshot, "account", "contains(name,'Account 1')", limit=3))) == 3
    with pytest.raises(UsageError):
        list(query(snapshot, "account", "name eq"))
