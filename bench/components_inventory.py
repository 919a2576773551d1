"""Benchmark: reading solutions into a ComponentSet, and flows from rows.

Run: .venv/bin/python bench/components_inventory.py [corpus-dir]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from seeder.components import ComponentSet, parse_clientdata

CORPUS = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "corpus"
COPILOT = CORPUS / "copilot-studio-kit/CopilotStudioAccelerator/SolutionPackage/src"


def timed(label: str, runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    fn()
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    per = (time.perf_counter() - start) / runs
    print(f"{label:55s} {per * 1000:8.1f} ms")
    return per


def main() -> None:
    cs = ComponentSet.from_solution(COPILOT)
    per = timed(f"from_solution copilot-studio-kit ({len(cs.flows)} flows)", 5,
                lambda: ComponentSet.from_solution(COPILOT))
    print(f"{'  flows per second':55s} {len(cs.flows) / per:8.0f}")
    texts = [p.read_bytes() for p in sorted((COPILOT / "Workflows").glob("*.json"))]
    size = sum(len(t) for t in texts)
    per = timed(f"parse_clientdata x{len(texts)} ({size / 1e6:.1f} MB)", 5,
                lambda: [parse_clientdata(t) for t in texts])
    print(f"{'  MB per second':55s} {size / 1e6 / per:8.1f}")
    rows = {"workflow": [{"workflowid": f"{i:08d}-0000-0000-0000-000000000000", "name": f"f{i}", "category": 5,
                          "statecode": 1, "clientdata": texts[i % len(texts)].decode("utf-8-sig")}
                         for i in range(2000)]}
    per = timed("from_rows 2000 flows", 2, lambda: ComponentSet.from_rows(rows))
    print(f"{'  flows per second':55s} {2000 / per:8.0f}")
    print(json.dumps({"findings": len(cs.findings)}))


if __name__ == "__main__":
    main()
