"""Shared test fixtures: where the real third-party corpus lives, and network safety."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def corpus_root() -> Path:
    """The corpus of real solutions and CMT packages: ``$SEEDER_CORPUS`` or ``../shared/corpus``."""
    return Path(os.environ.get("SEEDER_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_root()
    if not (root / "SOURCES.md").is_file():
        pytest.skip(f"corpus not found at {root} (set SEEDER_CORPUS to the shared corpus folder)")
    return root


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        if not (host.startswith("127.") or host in ("localhost", "::1")):
            raise OSError(f"test tried to reach {host}: tests may only talk to 127.0.0.1")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs with outbound connections limited to loopback."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    yield
