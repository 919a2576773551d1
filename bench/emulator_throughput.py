"""Emulator throughput over loopback: requests/s and records/s served (bounded loops, a few seconds).

Run: .venv/bin/python bench/emulator_throughput.py
Limits are off and the cost model is zero so the numbers measure the emulator itself.
"""

from __future__ import annotations

import platform
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from seeder.emulator import CostModel, EmulatorConfig, running_emulator
from seeder.metadata import crm_core_schema

API = "/api/data/v9.2/"


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url + API, headers={"Authorization": "Bearer bench"}, timeout=60)


def timed(label: str, fn: Callable[[], tuple[int, int]]) -> None:
    started = time.perf_counter()
    requests, records = fn()
    elapsed = time.perf_counter() - started
    print(f"{label:<46} {requests / elapsed:>9.0f} req/s {records / elapsed:>11.0f} records/s "
          f"({requests} requests, {elapsed:.2f} s)")


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    cfg = EmulatorConfig(limits=False, cost_ms=CostModel(write=0, read=0, request=0))
    with running_emulator(cfg, schema=crm_core_schema()) as url, client(url) as c:
        rid = str(uuid.uuid4())
        c.post("accounts", json={"accountid": rid, "name": "bench"})

        def creates() -> tuple[int, int]:
            for i in range(1000):
                c.post("accounts", json={"name": f"single {i}", "revenue": float(i)})
            return 1000, 1000

        def create_multiple() -> tuple[int, int]:
            for b in range(20):
                targets = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": f"bulk {b}-{i}",
                            "accountnumber": f"B{b:02d}-{i:04d}", "revenue": float(i)} for i in range(1000)]
                r = c.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
                r.raise_for_status()
            return 20, 20_000

        def upsert_multiple() -> tuple[int, int]:
            for b in range(10):
                targets = [{"@odata.type": "Microsoft.Dynamics.CRM.account",
                            "@odata.id": f"accounts(accountnumber='B{b:02d}-{i:04d}')", "name": f"up {i}"}
                           for i in range(1000)]
                c.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets}).raise_for_status()
            return 10, 10_000

        def get_one() -> tuple[int, int]:
            for _ in range(2000):
                c.get(f"accounts({rid})", params={"$select": "name"})
            return 2000, 2000

        def page50() -> tuple[int, int]:
            for _ in range(500):
                c.get("accounts", params={"$select": "name,revenue", "$top": "50"})
            return 500, 25_000

        def page50_parallel() -> tuple[int, int]:
            def work(_: int) -> None:
                with client(url) as own:
                    for _ in range(250):
                        own.get("accounts", params={"$select": "name,revenue", "$top": "50"})

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(work, range(8)))
            return 2000, 100_000

        def paged_read() -> tuple[int, int]:
            requests = records = 0
            link: str | None = "accounts?$select=name,revenue,_ownerid_value"
            while link:
                body = c.get(link, headers={"Prefer": "odata.maxpagesize=5000"}).json()
                requests += 1
                records += len(body["value"])
                link = body.get("@odata.nextLink")
            return requests, records

        timed("POST create, 1 record/request", creates)
        timed("CreateMultiple, 1000 records/request", create_multiple)
        timed("UpsertMultiple by alternate key, 1000/request", upsert_multiple)
        timed("GET single record ($select)", get_one)
        timed("GET 50-row page", page50)
        timed("GET 50-row page, 8 threads", page50_parallel)
        timed("paged read of all accounts, 5000/page", paged_read)


if __name__ == "__main__":
    main()
