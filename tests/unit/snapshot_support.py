"""Small schemas and records shared by the snapshot tests."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

from seeder.model import Column, Lookup, LookupTarget, OrgInfo, Schema, Table

ORG = OrgInfo(organization_id="00000000-0000-0000-0000-0000000000aa", name="contoso",
              url="https://contoso.crm.dynamics.com", environment_type="Production", version="9.2")

SCHEMA = Schema(tables=(
    Table(name="account", entity_set="accounts", primary_id="accountid", primary_name="name",
          columns=(Column("accountid", "Uniqueidentifier", is_primary_id=True), Column("name", "String"))),
    Table(name="contact", entity_set="contacts", primary_id="contactid", primary_name="fullname",
          columns=(Column("contactid", "Uniqueidentifier", is_primary_id=True), Column("fullname", "String"),
                   Column("parentcustomerid", "Customer", targets=("account",))),
          lookups=(Lookup("contact", "parentcustomerid", (LookupTarget("account", "parentcustomerid_account"),)),)),
    Table(name="task", entity_set="tasks", primary_id="activityid"),
))


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


def accounts(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"accountid": guid(rng), "name": f"Account {i}", "revenue": i * 1.5, "@odata.etag": f'W/"{i}"'}
            for i in range(n)]


def contacts(n: int, parents: list[dict[str, Any]], seed: int = 2) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parent = parents[i % len(parents)]["accountid"] if parents else None
        out.append({"contactid": guid(rng), "fullname": f"Person {i}", "_parentcustomerid_value": parent,
                    "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account"})
    return out


def by_id(records: list[dict[str, Any]], primary_id: str) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: str(r[primary_id]))


def all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())
