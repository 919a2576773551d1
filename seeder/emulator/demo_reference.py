"""Reference data of the demo organisation: organisation, currencies, business units, users, teams and
team memberships — identical for the same seed, whatever the number of records asked for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

from seeder.model import LOOKUP_LOGICALNAME, Record

from .demo_people import Person, new_id, pools_for

__all__ = ["Reference", "reference", "set_lookup"]


def set_lookup(record: Record, column: str, table: str, row_id: str | None) -> None:
    if row_id is not None:
        record[f"_{column}_value"] = row_id
        record[f"_{column}_value{LOOKUP_LOGICALNAME}"] = table


@dataclass
class Reference:
    rows: list[tuple[str, Record]] = field(default_factory=list)
    organization_id: str = ""
    org_name: str = ""
    root_unit: str = ""
    admin_id: str = ""
    currency_id: str = ""
    users: list[tuple[str, str, Person]] = field(default_factory=list)  # (user id, business unit id, person)
    owner_teams: list[tuple[str, str]] = field(default_factory=list)  # (team id, business unit id)


@lru_cache(maxsize=8)
def reference(seed: int) -> Reference:
    rng = random.Random(f"seeder-demo-reference:{seed}")
    pools = pools_for(seed)
    ref = Reference()
    company, domain = pools.company(rng)
    ref.org_name = company
    ref.organization_id = new_id(rng)
    created = "2023-01-01T08:00:00Z"
    currencies = [("USD", "US Dollar", "$", 1.0), ("EUR", "Euro", "€", 0.92), ("GBP", "Pound Sterling", "£", 0.79)]
    currency_ids = [new_id(rng) for _ in currencies]
    ref.currency_id = currency_ids[0]
    org: Record = {"organizationid": ref.organization_id, "name": company, "languagecode": 1033,
                   "uniquename": f"org{ref.organization_id[:8]}", "createdon": created, "modifiedon": created}
    set_lookup(org, "basecurrencyid", "transactioncurrency", ref.currency_id)
    ref.rows.append(("organization", org))
    for cid, (iso, name, symbol, rate) in zip(currency_ids, currencies, strict=True):
        ref.rows.append(("transactioncurrency", {
            "transactioncurrencyid": cid, "isocurrencycode": iso, "currencyname": name, "currencysymbol": symbol,
            "exchangerate": rate, "currencyprecision": 2, "statecode": 0, "statuscode": 1,
            "createdon": created, "modifiedon": created}))
    units: list[tuple[str, str, str | None]] = [(new_id(rng), company, None)]
    for division in ("Sales", "Service"):
        units.append((new_id(rng), f"{division} - {company}", units[0][0]))
    ref.root_unit = units[0][0]
    for uid, name, parent in units:
        unit: Record = {"businessunitid": uid, "name": name, "emailaddress": f"{_slug(name)}@{domain}",
                        "isdisabled": False, "createdon": created, "modifiedon": created, **pools.address(rng)}
        set_lookup(unit, "parentbusinessunitid", "businessunit", parent)
        set_lookup(unit, "organizationid", "organization", ref.organization_id)
        set_lookup(unit, "transactioncurrencyid", "transactioncurrency", ref.currency_id)
        ref.rows.append(("businessunit", unit))
    for index in range(9):
        person = pools.person(rng, domain)
        user_id = new_id(rng)
        unit_id = units[0][0] if index == 0 else units[1 + index % 2][0]
        ref.users.append((user_id, unit_id, person))
        user: Record = {
            "systemuserid": user_id, "fullname": person.full, "firstname": person.first, "lastname": person.last,
            "domainname": person.email, "internalemailaddress": person.email, "mobilephone": person.mobile,
            "title": person.job, "jobtitle": person.job, "azureactivedirectoryobjectid": new_id(rng),
            "isdisabled": index == 8, "accessmode": 0, "createdon": created, "modifiedon": created,
            **pools.address(rng),
        }
        set_lookup(user, "businessunitid", "businessunit", unit_id)
        set_lookup(user, "parentsystemuserid", "systemuser", ref.users[0][0] if index else None)
        ref.rows.append(("systemuser", user))
    ref.admin_id = ref.users[0][0]
    teams: list[tuple[str, str, int, str]] = [(new_id(rng), uid, 0, name) for uid, name, _ in units]
    teams.append((new_id(rng), units[1][0], 0, "Key Accounts"))
    teams.append((new_id(rng), units[2][0], 1, "Escalations (access team)"))
    for team_id, unit_id, team_type, name in teams:
        team: Record = {"teamid": team_id, "name": name, "teamtype": team_type, "isdefault": name in
                        {n for _, n, _ in units}, "createdon": created, "modifiedon": created}
        set_lookup(team, "businessunitid", "businessunit", unit_id)
        set_lookup(team, "administratorid", "systemuser", ref.admin_id)
        ref.rows.append(("team", team))
        if team_type == 0:
            ref.owner_teams.append((team_id, unit_id))
    mailbox_rng = random.Random(f"seeder-demo-mailboxes:{seed}")
    for user_id, _unit_id, person in ref.users:
        # production mailboxes sync with Exchange through server-side synchronization
        mailbox: Record = {"mailboxid": new_id(mailbox_rng), "name": person.full, "emailaddress": person.email,
                           "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2,
                           "actdeliverymethod": 1, "isforwardmailbox": False}
        set_lookup(mailbox, "regardingobjectid", "systemuser", user_id)
        ref.rows.append(("mailbox", mailbox))
    for user_id, unit_id, _person in ref.users:
        member_of = [t for t in teams if t[1] == unit_id or (t[3] == "Key Accounts" and rng.random() < 0.5)]
        for team_id, *_rest in member_of:
            ref.rows.append(("teammembership", {"teammembershipid": new_id(rng), "systemuserid": user_id,
                                                "teamid": team_id}))
    return ref


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())[:30] or "unit"
