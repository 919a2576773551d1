"""Export and restore of the demo organisation at N records: records/s, client CPU per record, peak RSS.

Each emulator runs in its own process and so does each client phase, so the numbers are the client's own:
  1. export the demo organisation (``--records N``, limits off) into a snapshot;
  2. restore the snapshot into an empty sandbox of the same organisation with the service-protection
     limits ON, time-scaled by ``--time-scale`` (the window and budgets shrink, the rate ceiling does not),
     and report restore records/s as a fraction of the emulator's ``write_ceiling_records_per_s``.
Peak RSS is the client phase's ``ru_maxrss``; CPU is its user + system time.

    .venv/bin/python bench/export_restore.py [--records 100000] [--time-scale 60] [--batch 100] [--skip-restore]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


def _serve(config_kwargs: dict[str, Any], queue: Any) -> None:
    from seeder.emulator import EmulatorConfig, serve

    serve(EmulatorConfig(**config_kwargs), on_ready=queue.put)


def start_emulator(ctx: Any, **config: Any) -> tuple[Any, str]:
    queue = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(config, queue), daemon=True)
    proc.start()
    url = queue.get(timeout=3600)
    return proc, str(url)


def _usage() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}


def _export_phase(url: str, out: str, queue: Any) -> None:
    from seeder.dataverse import AuthConfig, Environment
    from seeder.export import export

    start_cpu = _usage()["cpu_s"]
    started = time.perf_counter()
    with Environment.connect(url, AuthConfig(method="none")) as env:
        report = export(env, Path(out))
    seconds = time.perf_counter() - started
    usage = _usage()
    queue.put({"rows": report.rows, "seconds": seconds, "cpu_s": usage["cpu_s"] - start_cpu,
               "peak_rss_mb": usage["peak_rss_mb"]})


def _restore_phase(url: str, snapshot: str, journal: str, batch: int, queue: Any) -> None:
    from seeder.dataverse import AuthConfig, Environment
    from seeder.restore import RestoreOptions, restore

    start_cpu = _usage()["cpu_s"]
    started = time.perf_counter()
    phases: dict[str, float] = {}
    mark = {"name": "match reference data, select, plan", "at": started}

    def progress(event: str, text: str) -> None:
        if event not in ("step", "done"):
            return
        now = time.perf_counter()
        phases[mark["name"]] = phases.get(mark["name"], 0.0) + now - float(mark["at"])
        parts = text.split()
        name = parts[1] if event == "step" and len(parts) > 1 and "/" in parts[0] else "retry"
        mark.update(name="verify" if event == "done" else name, at=now)

    with Environment.connect(url, AuthConfig(method="none")) as env:
        report = restore(env, Path(snapshot), RestoreOptions(journal=Path(journal), batch_size=batch),
                         progress=progress)
        throttled = env.stats.throttled
    seconds = time.perf_counter() - started
    phases["verify"] = phases.get("verify", 0.0) + time.perf_counter() - float(mark["at"])
    usage = _usage()
    queue.put({"written": report.written, "failed": report.failed, "verified": report.verified,
               "seconds": seconds, "cpu_s": usage["cpu_s"] - start_cpu, "peak_rss_mb": usage["peak_rss_mb"],
               "client_throttled": throttled, "phases": {k: round(v, 1) for k, v in phases.items()}})


def run_phase(ctx: Any, target: Any, *args: Any) -> dict[str, Any]:
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--skip-restore", action="store_true")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    work = Path(tempfile.mkdtemp(prefix="seeder-bench-"))
    try:
        t0 = time.perf_counter()
        source, url = start_emulator(ctx, demo=True, records=args.records, seed=args.seed, limits=False)
        print(f"source emulator with {args.records} demo records ready in {time.perf_counter() - t0:.1f}s")
        exp = run_phase(ctx, _export_phase, url, str(work / "snap"))
        source.terminate()
        rows = exp["rows"]
        size = sum(p.stat().st_size for p in (work / "snap").rglob("*") if p.is_file())
        print(f"export : {rows} rows in {exp['seconds']:.1f}s = {rows / exp['seconds']:,.0f} records/s, "
              f"client CPU {exp['cpu_s'] * 1e6 / rows:.1f} µs/record, peak RSS {exp['peak_rss_mb']:.0f} MB, "
              f"snapshot {size / 1e6:.1f} MB")
        if args.skip_restore:
            return
        target, turl = start_emulator(ctx, demo=True, records=0, seed=args.seed, time_scale=args.time_scale)
        res = run_phase(ctx, _restore_phase, turl, str(work / "snap"), str(work / "journal.sqlite"), args.batch)
        stats = httpx.get(f"{turl}/_emulator/stats", timeout=30).json()
        target.terminate()
        written = res["written"]
        rate = written / res["seconds"]
        ceiling = float(stats["write_ceiling_records_per_s"])
        print(f"restore: {written} rows written ({res['failed']} failed, verified={res['verified']}) in "
              f"{res['seconds']:.1f}s = {rate:,.0f} records/s = {rate / ceiling:.0%} of the emulator's ceiling "
              f"({ceiling:,.0f} records/s, limits on, time scale {args.time_scale:g}), "
              f"client CPU {res['cpu_s'] * 1e6 / max(written, 1):.1f} µs/record, peak RSS "
              f"{res['peak_rss_mb']:.0f} MB, 429s seen by the emulator {stats.get('throttled')}")
        print("restore seconds by phase: " + ", ".join(f"{k} {v}" for k, v in res["phases"].items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
