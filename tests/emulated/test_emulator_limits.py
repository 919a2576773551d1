"""Service-protection limits, the cost model, fault injection and /_emulator/stats over real HTTP."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from seeder.emulator import CostModel, EmulatorConfig
from seeder.metadata import crm_core_schema
from tests.emulated.conftest import api_client


def _burst(url: str, token: str, n: int, threads: int) -> list[httpx.Response]:
    clients = [api_client(url, token) for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def one(k: int) -> list[httpx.Response]:
        barrier.wait()
        return [clients[k].get("WhoAmI") for _ in range(n // threads)]

    try:
        with ThreadPoolExecutor(threads) as pool:
            return [r for batch in pool.map(one, range(threads)) for r in batch]
    finally:
        for c in clients:
            c.close()


def test_request_count_limit_per_user(start_emulator: Any) -> None:
    url = start_emulator(EmulatorConfig(time_scale=600, cost_ms=CostModel(0, 0, 0)))  # 10 requests / 0.5 s
    with api_client(url, "alice") as alice, api_client(url, "bob") as bob:
        codes = [alice.get("WhoAmI").status_code for _ in range(10)]
        assert codes == [200] * 10
        r = alice.get("WhoAmI")
        assert r.status_code == 429
        assert r.json() == {"error": {"code": "0x80072322", "message":
                                      "Number of requests exceeded the limit of 10 over time window of 0.5 seconds."}}
        assert r.headers["Retry-After"] == "1"
        assert bob.get("WhoAmI").status_code == 200  # limits are per user
        time.sleep(0.6)
        assert alice.get("WhoAmI").status_code == 200
        stats = httpx.get(url + "/_emulator/stats").json()
        assert stats["throttled"] == 1 and stats["requests"] == 13


def test_default_messages_match_the_service(start_emulator: Any) -> None:
    from seeder.emulator.limits import Limiter

    limiter = Limiter()
    for _ in range(6000):
        limiter.enter("u")
        limiter.leave("u", 0.0)
    with pytest.raises(Exception) as info:
        limiter.enter("u")
    assert str(info.value) == "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
    limiter = Limiter()
    limiter.enter("v")
    limiter.leave("v", 1300.0)
    with pytest.raises(Exception) as info:
        limiter.enter("v")
    assert str(info.value).startswith("Combined execution time of incoming requests exceeded limit of 1,200,000 "
                                      "milliseconds over time window of 300 seconds.")
    assert int(info.value.headers["Retry-After"]) == 300  # type: ignore[attr-defined]


def test_execution_time_limit(start_emulator: Any) -> None:
    # window 2.5 s, budget 10 s of execution: a first wave of 30 × 500 ms overshoots it, the next is refused
    url = start_emulator(EmulatorConfig(time_scale=120, cost_ms=CostModel(write=0, read=0, request=500)))
    responses = _burst(url, "heavy", 60, 30)
    codes = Counter(r.json()["error"]["code"] for r in responses if r.status_code == 429)
    assert codes["0x80072321"] > 0, codes
    assert sum(r.status_code == 200 for r in responses) >= 20


def test_concurrency_limit(start_emulator: Any) -> None:
    url = start_emulator(EmulatorConfig(cost_ms=CostModel(write=0, read=0, request=1000)))
    responses = _burst(url, "many", 70, 70)
    concurrent = [r for r in responses if r.status_code == 429]
    assert concurrent and all(r.json()["error"]["code"] == "0x80072326" for r in concurrent)
    assert concurrent[0].json()["error"]["message"] == "Number of concurrent requests exceeded the limit of 52."


def test_cost_is_waited_and_counted(start_emulator: Any) -> None:
    url = start_emulator(EmulatorConfig(cost_ms=CostModel(write=20, read=0, request=30), limits=False),
                         schema=crm_core_schema())
    with api_client(url) as c:
        started = time.monotonic()
        r = c.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [
            {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": str(i)} for i in range(5)]})
        assert r.status_code == 200, r.text
        assert time.monotonic() - started >= 0.13  # 30 + 5 × 20 ms
        c.get("accounts")
    stats = httpx.get(url + "/_emulator/stats").json()
    assert stats["records_written"] == 5 and stats["records_read"] == 5 and stats["requests"] == 2
    assert stats["write_ceiling_records_per_s"] == round(4000 * 1000 / (30 + 1000 * 20), 1)


def test_faults_are_seeded(start_emulator: Any) -> None:
    def run() -> list[int]:
        url = start_emulator(EmulatorConfig(faults="429=0.2,503=0.2", seed=7, limits=False))
        with api_client(url) as c:
            out = [c.get("WhoAmI").status_code for _ in range(40)]
        stats = httpx.get(url + "/_emulator/stats").json()
        assert stats["faults_injected"] == sum(code != 200 for code in out)
        return out

    first = run()
    assert {429, 503, 200} <= set(first)
    assert run() == first
    url = start_emulator(EmulatorConfig(faults="reset=1", limits=False))
    with api_client(url) as c, pytest.raises(httpx.TransportError):
        c.get("WhoAmI")
