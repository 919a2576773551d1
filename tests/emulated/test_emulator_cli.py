"""``seeder emulator serve`` as users run it: a child process whose first line is its URL, with state that
survives a restart, and ``seeder demo`` end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from seeder.demo import spawn_emulator


def _count(url: str, entity_set: str) -> int:
    response = httpx.get(f"{url}/api/data/v9.2/{entity_set}?$count=true&$top=1",
                         headers={"Authorization": "Bearer t"}, timeout=30)
    response.raise_for_status()
    return int(response.json()["@odata.count"])


def test_serve_prints_its_url_first_and_keeps_state(tmp_path: Path) -> None:
    state = tmp_path / "org.sqlite"
    with spawn_emulator("--demo", "--records", "150", "--seed", "5", "--state", str(state)) as url:
        assert url.startswith("http://127.0.0.1:")
        accounts = _count(url, "accounts")
        assert accounts > 0
        httpx.delete(f"{url}/api/data/v9.2/accounts({_first_id(url)})", headers={"Authorization": "Bearer t"},
                     timeout=30).raise_for_status()
    with spawn_emulator("--demo", "--records", "150", "--seed", "5", "--state", str(state)) as url:
        assert _count(url, "accounts") == accounts - 1  # the same environment, not a fresh demo


def _first_id(url: str) -> str:
    body = httpx.get(f"{url}/api/data/v9.2/accounts?$select=accountid&$top=1", headers={"Authorization": "Bearer t"},
                     timeout=30).json()
    return str(body["value"][0]["accountid"])


def test_serve_refuses_a_non_loopback_host() -> None:
    done = subprocess.run([sys.executable, "-m", "seeder", "emulator", "serve", "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "loopback" in done.stderr


@pytest.mark.slow
def test_demo_command_runs_the_whole_clone(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "seeder", "demo", "--records", "300", "--report", str(report)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "10 passed, 0 warnings, 0 failed" in done.stdout
    assert report.is_file()
