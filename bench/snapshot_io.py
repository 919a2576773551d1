"""Snapshot write/read throughput and peak memory at 100k and 1M synthetic ~400-byte records.

Run: .venv/bin/python bench/snapshot_io.py [--sizes 100000,1000000] [--modes sorted,shuffled,encrypted]

Each (size, mode) runs in its own process so that peak RSS (resource.getrusage ru_maxrss) belongs to that
case alone. Modes: ``sorted`` — records arrive in primary-id order (the exporter's case, cheap path);
``shuffled`` — random order (external merge sort through temporary runs); ``encrypted`` — random order
with AES-256-GCM. "read" streams every record back into Python dicts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seeder.model import Column, OrgInfo, Schema, Table
from seeder.snapshot import Snapshot, SnapshotWriter, verify

SCHEMA = Schema(tables=(Table(name="contact", entity_set="contacts", primary_id="contactid",
                              columns=(Column("contactid", "Uniqueidentifier", is_primary_id=True),)),))
FIRST = ["Ana", "Bram", "Chen", "Dana", "Eero", "Fatima", "Gus", "Hana", "Ivo", "Jun"]
LAST = ["Smith", "Okafor", "Jansen", "Tanaka", "Novak", "Silva", "Khan", "Müller", "Ng", "Rossi"]


def records(n: int, ordered: bool, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        cid = f"{i:08x}-0000-4000-8000-{i:012x}" if ordered else str(uuid.UUID(int=rng.getrandbits(128)))
        first, last = rng.choice(FIRST), rng.choice(LAST)
        yield {
            "contactid": cid,
            "firstname": first,
            "lastname": last,
            "fullname": f"{first} {last}",
            "emailaddress1": f"{first.lower()}.{last.lower()}{i}@example.com",
            "telephone1": f"+1 (425) 555-{i % 10000:04d}",
            "address1_line1": f"{rng.randint(1, 9999)} Main Street",
            "address1_city": "Redmond",
            "_parentcustomerid_value": str(uuid.UUID(int=rng.getrandbits(128))),
            "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
            "createdon": "2026-11-26T08:00:00Z",
            "statecode": 0,
        }


def one(n: int, mode: str) -> dict[str, Any]:
    key = os.urandom(32) if mode == "encrypted" else None
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = Path(tmp) / "snap"
        start = time.perf_counter()
        cpu = time.process_time()
        with SnapshotWriter(path, schema=SCHEMA, source=OrgInfo("o", "bench", "http://127.0.0.1"), key=key) as w:
            w.write_table("contact", records(n, ordered=mode == "sorted"))
        write_s = time.perf_counter() - start
        write_cpu = time.process_time() - cpu
        rss_after_write = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        start = time.perf_counter()
        count = sum(1 for _ in Snapshot.open(path, key).records("contact"))
        read_s = time.perf_counter() - start
        assert count == n
        start = time.perf_counter()
        report = verify(path)
        verify_s = time.perf_counter() - start
        assert report.ok, report.problems
    raw_bytes = sum(len(json.dumps(r)) for r in records(1000, True)) / 1000
    return {
        "records": n, "mode": mode, "record_bytes": round(raw_bytes),
        "write_s": round(write_s, 2), "write_rows_per_s": round(n / write_s),
        "write_cpu_us_per_row": round(write_cpu / n * 1e6, 2),
        "read_s": round(read_s, 2), "read_rows_per_s": round(n / read_s),
        "verify_s": round(verify_s, 2), "size_mb": round(size / 1e6, 1),
        "peak_rss_mb_write": round(rss_after_write / 1024),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--modes", default="sorted,shuffled,encrypted")
    parser.add_argument("--one", nargs=2, metavar=("N", "MODE"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1])))
        return
    header = (f"{'records':>9} {'mode':>9} {'write/s':>9} {'µs cpu/row':>10} {'read/s':>9} {'verify s':>8} "
              f"{'MB':>6} {'RSS write MB':>12} {'RSS peak MB':>11}")
    print(header)
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            out = subprocess.run([sys.executable, __file__, "--one", str(size), mode],
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            print(f"{r['records']:>9} {r['mode']:>9} {r['write_rows_per_s']:>9} {r['write_cpu_us_per_row']:>10} "
                  f"{r['read_rows_per_s']:>9} {r['verify_s']:>8} {r['size_mb']:>6} {r['peak_rss_mb_write']:>12} "
                  f"{r['peak_rss_mb']:>11}",
                  flush=True)


if __name__ == "__main__":
    main()
