"""Client write throughput against the emulator with its service-protection limits on (time-scaled).

Runs the emulator in a separate process, then in the same run measures:
  1. a naive client: one single-row upsert request at a time (fixed duration);
  2. ``Environment.write_many`` with one application user;
  3. ``write_many`` fanned out over four application users (four distinct tokens).
Each is reported in records/s and as a fraction of the emulator's ``write_ceiling_records_per_s`` (what
the limits allow ONE user at the configured cost), with the number of failed rows.

    .venv/bin/python bench/client_write_throughput.py [--records 6000] [--time-scale 60] [--write-ms 20] [--batch 50]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from seeder.dataverse import AuthConfig, Environment

NS = uuid.UUID("5b1d7a2e-0000-4000-8000-000000000000")


def _serve(config_kwargs: dict[str, Any], queue: Any) -> None:
    from seeder.emulator import serve
    from seeder.emulator.config import CostModel, EmulatorConfig
    from seeder.metadata import crm_core_schema

    cost = CostModel(**config_kwargs.pop("cost"))
    serve(EmulatorConfig(cost_ms=cost, **config_kwargs), on_ready=queue.put, schema=crm_core_schema())


def rows(label: str, n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    for i in range(n):
        yield str(uuid.uuid5(NS, f"{label}:{i}")), {"name": f"{label} account {i}", "telephone1": "555-0100"}


def stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_emulator/stats", timeout=30).json())


def naive(url: str, seconds: float) -> tuple[float, int]:
    done = failed = 0
    with Environment.connect(url, AuthConfig(static_token="naive-user"), max_concurrency=1) as env:
        start = time.perf_counter()
        for rid, body in rows("naive", 10**9):
            try:
                env.upsert("account", rid, body)
                done += 1
            except Exception:
                failed += 1
            if time.perf_counter() - start >= seconds:
                break
        return done / (time.perf_counter() - start), failed


def bulk(url: str, users: int, n: int, batch: int, window_s: float) -> dict[str, Any]:
    """Whole-run rate, and the steady-state rate after the first window (whose empty budget is a burst)."""
    auths = [AuthConfig(static_token=f"bulk-{users}-user-{k}") for k in range(users)]
    with Environment.connect(url, auths) as env:
        start = time.perf_counter()
        failed = done_after_window = 0
        for r in env.write_many("account", rows(f"bulk{users}", n), batch_size=batch):
            failed += not r.ok
            if time.perf_counter() - start > window_s:
                done_after_window += 1
        elapsed = time.perf_counter() - start
        steady = done_after_window / (elapsed - window_s) if elapsed > 2 * window_s else float("nan")
        return {"rate": n / elapsed, "steady": steady, "failed": failed, "stats": env.stats,
                "elapsed": elapsed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=6000, help="records for the one-user run (x4 for four)")
    ap.add_argument("--time-scale", type=float, default=60.0)
    ap.add_argument("--write-ms", type=float, default=20.0)
    ap.add_argument("--request-ms", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--naive-seconds", type=float, default=5.0)
    args = ap.parse_args()

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    cfg = {"time_scale": args.time_scale, "limits": True,
           "cost": {"write": args.write_ms, "read": 0.01, "request": args.request_ms}}
    proc = ctx.Process(target=_serve, args=(cfg, queue), daemon=True)
    proc.start()
    try:
        url = str(queue.get(timeout=120))
        ceiling = float(stats(url)["write_ceiling_records_per_s"])
        print(f"emulator {url}  time-scale {args.time_scale}  cost write={args.write_ms}ms "
              f"request={args.request_ms}ms  ceiling (one user) {ceiling:.1f} records/s")
        rate, failed = naive(url, args.naive_seconds)
        print(f"naive, 1 request at a time : {rate:9.1f} records/s  {rate / ceiling:5.2f} of ceiling  "
              f"failed {failed}")
        window = float(stats(url)["limits"]["window_s"])
        one = bulk(url, 1, args.records, args.batch, window)
        four = bulk(url, 4, args.records * 4, args.batch, window)
        for label, r in (("write_many, 1 user ", one), ("write_many, 4 users", four)):
            st = r["stats"]
            print(f"{label}        : {r['rate']:9.1f} records/s  {r['rate'] / ceiling:5.2f} of ceiling over "
                  f"{r['elapsed']:.0f} s; after the first {window:g} s window {r['steady']:9.1f} records/s  "
                  f"{r['steady'] / ceiling:5.2f} of ceiling  failed {r['failed']}  "
                  f"({st.requests} requests, {st.throttled} throttled)")
        print(f"four users / one user      : {four['rate'] / one['rate']:.2f}x whole run, "
              f"{four['steady'] / one['steady']:.2f}x steady state")
        s = stats(url)
        print(f"emulator: requests {s['requests']}  records_written {s['records_written']}  "
              f"throttled {s['throttled']}")
    finally:
        proc.terminate()
        proc.join(10)


if __name__ == "__main__":
    main()
