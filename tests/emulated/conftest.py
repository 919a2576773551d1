"""Fixtures for tests that talk to a real emulator over HTTP on 127.0.0.1.

* ``emulator_url``: a fresh emulator with the built-in CRM schema and no rows (function scope).
* ``demo_emulator_url``: a fresh ``--demo --records 200 --seed 1`` emulator (function scope).
* ``start_emulator(**overrides)``: start more emulators (``EmulatorConfig`` fields, or ``schema=``); all are
  stopped at teardown. Returns the base URL ``http://127.0.0.1:PORT``.
* ``api``: an ``httpx.Client`` on ``emulator_url`` + ``/api/data/v9.2/`` with a bearer token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from seeder.emulator import EmulatorConfig, running_emulator
from seeder.metadata import crm_core_schema

API = "/api/data/v9.2/"


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., str]]:
    with ExitStack() as stack:

        def start(config: EmulatorConfig | None = None, **overrides: Any) -> str:
            return stack.enter_context(running_emulator(config, **overrides))

        yield start


@pytest.fixture
def emulator_url(start_emulator: Callable[..., str]) -> str:
    return start_emulator(schema=crm_core_schema())


@pytest.fixture
def demo_emulator_url(start_emulator: Callable[..., str]) -> str:
    return start_emulator(EmulatorConfig(demo=True, records=200, seed=1))


def api_client(url: str, token: str = "test-token") -> httpx.Client:
    return httpx.Client(base_url=url + API, headers={"Authorization": f"Bearer {token}",
                                                     "OData-MaxVersion": "4.0", "OData-Version": "4.0",
                                                     "Accept": "application/json"}, timeout=30)


@pytest.fixture
def api(emulator_url: str) -> Iterator[httpx.Client]:
    with api_client(emulator_url) as client:
        yield client
