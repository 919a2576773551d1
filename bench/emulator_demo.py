"""Benchmark: how fast the demo organisation is generated, and that memory stays flat.

Run: .venv/bin/python bench/emulator_demo.py [records ...]
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter

from seeder.emulator.demo import generate_demo
from seeder.metadata import crm_core_schema


def run(records: int) -> None:
    schema = crm_core_schema()
    started = time.perf_counter()
    counts: Counter[str] = Counter()
    for table, _record in generate_demo(schema, seed=1, records=records):
        counts[table] += 1
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(counts.values())
    print(f"records={records:>8} rows={total:>8} seconds={elapsed:6.2f} rows/s={total / elapsed:>9.0f} "
          f"max_rss_MB={peak_mb:6.1f} tables={len(counts)}")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [10_000, 100_000]:
        run(size)
