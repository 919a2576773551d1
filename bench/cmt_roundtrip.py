"""CMT interop throughput: build a synthetic CMT package of N records, import it, export it again.

Usage: ``.venv/bin/python bench/cmt_roundtrip.py [N ...]`` (default 20000 100000). Each N runs in a child
process so the peak RSS printed belongs to that size alone.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from seeder.cmt import (
    CmtDataField,
    CmtEntity,
    CmtField,
    CmtLinks,
    CmtRecord,
    CmtRelationship,
    CmtSchema,
    DataXmlWriter,
    write_package,
    write_schema,
)
from seeder.interop import cmt_export, cmt_import

SCHEMA = CmtSchema(
    (
        CmtEntity(
            "new_item",
            "new_itemid",
            "new_name",
            "Item",
            fields=(
                CmtField("new_itemid", "guid", "Item", primary_key=True),
                CmtField("new_name", "string", "Name"),
                CmtField("new_amount", "money", "Amount"),
                CmtField("new_count", "number", "Count"),
                CmtField("new_active", "bool", "Active"),
                CmtField("new_when", "datetime", "When"),
                CmtField("new_parentid", "entityreference", "Parent", lookup_types=("new_item",)),
                CmtField("ownerid", "owner", "Owner"),
                CmtField("statecode", "state", "Status"),
            ),
            relationships=(CmtRelationship("new_item_item", "new_item_item", "new_item", "new_itemid", True),),
        ),
    )
)
OWNER = "e0000000-0000-0000-0000-000000000001"


def _id(i: int) -> str:
    return str(uuid.UUID(int=(0xA << 124) + i))


def build(path: Path, n: int) -> None:
    stamp = "2026-01-01T00:00:00Z"
    with write_package(path, write_schema(SCHEMA)) as stream, DataXmlWriter(stream, timestamp=stamp) as xml:
        xml.begin_entity("new_item", "Item")
        for i in range(n):
            fields = [
                CmtDataField("new_itemid", _id(i)),
                CmtDataField("new_name", f"item &lt;{i}&gt; &amp; co"),
                CmtDataField("new_amount", f"{i}.5000000000"),
                CmtDataField("new_count", str(i)),
                CmtDataField("new_active", "True" if i % 2 else "False"),
                CmtDataField("new_when", "2025-06-28T19:06:20.0000000Z"),
                CmtDataField("ownerid", OWNER, "systemuser", "Owner"),
                CmtDataField("statecode", "0"),
            ]
            if i:
                fields.append(CmtDataField("new_parentid", _id(i // 2), "new_item", f"item {i // 2}"))
            xml.write_record(CmtRecord(_id(i), tuple(fields)))
        for i in range(0, n, 10):
            xml.write_links(CmtLinks("new_item_item", _id(i), "new_item", "new_itemid", (_id((i + 1) % n),)))


def run_one(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root / "in.zip", n)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        imported = cmt_import(root / "in.zip", root / "snap")
        t1 = time.perf_counter()
        cpu1 = time.process_time()
        exported = cmt_export(root / "snap", root / "out.zip")
        t2 = time.perf_counter()
        cpu2 = time.process_time()
        assert imported.tables["new_item"] == n and exported.tables["new_item"] == n and not exported.dropped
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"N={n:>9,}  import {n / (t1 - t0):>8,.0f} rec/s ({(cpu1 - cpu0) / n * 1e6:.0f} us CPU/rec)  "
            f"export {n / (t2 - t1):>8,.0f} rec/s ({(cpu2 - cpu1) / n * 1e6:.0f} us CPU/rec)  "
            f"package {(root / 'in.zip').stat().st_size / 1e6:.1f} MB  peak RSS {rss_mb:.0f} MB"
        )


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "--one":
        run_one(int(argv[1]))
        return
    for n in [int(a) for a in argv] or [20_000, 100_000]:
        subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
