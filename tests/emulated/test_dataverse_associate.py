"""N:N associations in bulk: one $batch of $ref requests per chunk, duplicates answered as such."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from seeder.dataverse import AuthConfig, Environment
from seeder.metadata import crm_core_schema


def _requests(url: str) -> int:
    return int(httpx.get(url + "/_emulator/stats", timeout=10).json()["requests"])


def test_associate_many_batches_pairs_and_reports_duplicates(start_emulator: Callable[..., str]) -> None:
    url = start_emulator(schema=crm_core_schema(), limits=False)
    with Environment.connect(url, AuthConfig(method="none")) as env:
        accounts = [str(uuid.uuid4()) for _ in range(5)]
        leads = [str(uuid.uuid4()) for _ in range(10)]
        assert all(r.ok for r in env.write_many("account", [(a, {"name": f"A{i}"}) for i, a in enumerate(accounts)]))
        assert all(r.ok for r in env.write_many("lead", [(b, {"lastname": f"L{i}"}) for i, b in enumerate(leads)]))
        pairs = [(a, b) for a in accounts for b in leads]  # 50 pairs
        rel = next(r for r in env.schema(["account", "lead"]).many_to_many if r.table2 == "lead")
        before = _requests(url)
        results = list(env.associate_many("account", rel.navigation1, "lead", pairs, batch_size=25))
        assert len(results) == 50 and all(r.ok for r in results), [r for r in results if not r.ok][:2]
        assert _requests(url) - before <= 4  # two batches (plus at most metadata lookups), not 50 requests
        linked = {(str(r[rel.column1]).lower(), str(r[rel.column2]).lower())
                  for r in env.iter_records(rel.intersect_table)}
        assert linked == {(a.lower(), b.lower()) for a, b in pairs}
        again = list(env.associate_many("account", rel.navigation1, "lead", pairs[:3]))
        assert {r.id for r in again} == {f"{a}:{b}" for a, b in pairs[:3]}
        assert all(r.ok or (r.error or {}).get("code") == "0x80040237" for r in again)
