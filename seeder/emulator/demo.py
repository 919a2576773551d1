"""The demo organisation: deterministic (by seed) reference data and a Faker-generated book of business.

:func:`generate_demo` streams ``(table, record)`` pairs in the Web API shape, parents before children
where the data allows (the account → primary contact half of the account ↔ contact cycle, and a qualified
lead → its opportunity, point forward): reference data first (organisation, currencies, business units,
users, teams, team memberships — the same for the same seed whatever ``records`` is, see
:mod:`.demo_reference`), then about ``records`` rows of accounts (with a parent hierarchy), contacts,
leads, opportunities, tasks, phone calls and emails (each with its activity parties), notes and
account ↔ lead links. About one row in eight is inactive, with a status that belongs to its state.
Columns and tables the given schema lacks are left out.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator

from seeder.metadata.crm import crm_status_states
from seeder.model import LOOKUP_LOGICALNAME, OrgInfo, Record, Schema

from .demo_people import Person, Pools, pools_for, timestamp
from .demo_reference import Reference, reference, set_lookup
from .demo_solution import demo_solution_rows

__all__ = ["demo_org", "demo_solution_rows", "generate_demo"]

SHARES = {"account": 0.08, "contact": 0.20, "lead": 0.08, "opportunity": 0.07, "task": 0.10, "phonecall": 0.07,
          "email": 0.07, "annotation": 0.04, "accountleads": 0.01}
"""Share of ``records`` per table; activity parties (two per phone call and email) make up the rest."""
INACTIVE_SHARE = 0.12
_INDUSTRIES = (1, 2, 3, 6, 7, 12, 19, 33)
_CUSTOMER_TYPES = (1, 2, 3, 4, 5, 11, 12)
_LEAD_SOURCES = (1, 2, 3, 4, 5, 7, 8, 10)


def demo_org(seed: int, production: bool) -> OrgInfo:
    """The organisation :func:`generate_demo` describes for ``seed`` (``production`` marks its type)."""
    ref = reference(seed)
    return OrgInfo(
        organization_id=ref.organization_id, name=ref.org_name,
        url=f"https://org{ref.organization_id[:8]}.crm.dynamics.com", version="9.2.24101.00180",
        environment_type="Production" if production else "Sandbox", user_id=ref.admin_id,
        business_unit_id=ref.root_unit, extra={"seed": seed, "demo": True},
    )


def generate_demo(schema: Schema, *, seed: int, records: int) -> Iterator[tuple[str, Record]]:
    """About ``records`` rows (plus the reference data) across the CRM tables of ``schema``, by ``seed``."""
    keep = _Filter(schema)
    ref = reference(seed)
    for table, record in ref.rows:
        shaped = keep.apply(table, dict(record))
        if shaped is not None:
            yield table, shaped
    if records <= 0:
        return
    for table, record in _Book(ref, seed, records).rows():
        shaped = keep.apply(table, record)
        if shaped is not None:
            yield table, shaped


class _Filter:
    """Drops tables, columns and lookups (with their annotation) the target schema does not have."""

    def __init__(self, schema: Schema) -> None:
        self.allowed: dict[str, frozenset[str]] = {}
        for table in schema.tables:
            keys = {c.name for c in table.columns}
            keys.update(f"_{c.name}_value" for c in table.columns if c.is_lookup)
            self.allowed[table.name] = frozenset(keys)

    def apply(self, table: str, record: Record) -> Record | None:
        allowed = self.allowed.get(table)
        if allowed is None:
            return None
        out: Record = {}
        for key, value in record.items():
            if key not in allowed:
                continue
            if key[0] == "_":
                target = record.get(key + LOOKUP_LOGICALNAME)
                if target not in self.allowed:
                    continue
                out[key + LOOKUP_LOGICALNAME] = target
            out[key] = value
        return out


class _Book:
    """The generated book of business for one seed and size.

    Row ids, parents and the people behind contacts are functions of (seed, table, index), so any row can
    refer to any other without keeping lists: memory stays flat however many records are asked for.
    """

    def __init__(self, ref: Reference, seed: int, records: int) -> None:
        self.ref, self.seed = ref, seed
        self.rng = random.Random(f"seeder-demo-book:{seed}")
        self.side = random.Random()
        self.pools: Pools = pools_for(seed)
        self.count = {t: max(1 if t in ("account", "contact") else 0, round(records * s)) for t, s in SHARES.items()}
        self.users = ref.users[:8]  # the ninth user is disabled
        self.emails = {uid: person.email for uid, _unit, person in ref.users}
        self.statuses = {t: crm_status_states(t) for t in ("account", "contact", "lead", "opportunity", "task",
                                                            "phonecall", "email")}

    # -- index-addressed facts -------------------------------------------------------------------------
    def _digest(self, *key: object) -> bytes:
        return hashlib.blake2b(repr((self.seed, *key)).encode(), digest_size=16).digest()

    def id(self, table: str, index: int) -> str:
        return str(uuid.UUID(bytes=self._digest(table, index), version=4))

    def draw(self, *key: object) -> float:
        return int.from_bytes(self._digest(*key)[:7], "big") / float(1 << 56)

    def pick(self, n: int, *key: object) -> int:
        return int.from_bytes(self._digest(*key)[:8], "big") % n

    def any_row(self, table: str) -> str:
        return self.id(table, self.rng.randrange(self.count[table]))

    def company(self, account: int) -> tuple[str, str]:
        self.side.seed(self._digest("company", account))
        return self.pools.company(self.side)

    def primary_contact(self, account: int) -> int | None:
        """The contact index that is ``account``'s primary contact (and has it as parent), if any."""
        if self.draw("primary", account) < 0.7:
            return account * self.count["contact"] // self.count["account"]
        return None

    def contact_parent(self, contact: int) -> tuple[str, int] | None:
        accounts, contacts = self.count["account"], self.count["contact"]
        for account in {contact * accounts // contacts, min(accounts - 1, contact * accounts // contacts + 1)}:
            if self.primary_contact(account) == contact:
                return "account", account
        draw = self.draw("contact-parent", contact)
        if draw < 0.85:
            return "account", self.pick(accounts, "contact-account", contact)
        if draw < 0.93 or contact == 0:
            return None
        return "contact", self.pick(contact, "contact-contact", contact)

    def person(self, contact: int) -> Person:
        parent = self.contact_parent(contact)
        domain = self.company(parent[1])[1] if parent is not None and parent[0] == "account" else None
        self.side.seed(self._digest("person", contact))
        return self.pools.person(self.side, domain)

    def qualified(self, lead: int) -> bool:
        """Whether lead ``lead`` was qualified into opportunity ``lead`` (same index)."""
        return lead < self.count["opportunity"] and self.draw("qualified", lead) < 0.3

    # -- helpers -------------------------------------------------------------------------------------
    def stamp(self, record: Record) -> str:
        """Owner, owning business unit, creator and dates; returns the owning user (admin for team-owned)."""
        rng = self.rng
        if rng.random() < 0.1:
            team_id, unit_id = rng.choice(self.ref.owner_teams)
            set_lookup(record, "ownerid", "team", team_id)
            user_id = self.ref.admin_id
        else:
            user_id, unit_id, _person = rng.choice(self.users)
            set_lookup(record, "ownerid", "systemuser", user_id)
        set_lookup(record, "owningbusinessunit", "businessunit", unit_id)
        set_lookup(record, "createdby", "systemuser", user_id)
        set_lookup(record, "modifiedby", "systemuser", rng.choice((user_id, self.ref.admin_id)))
        created, modified = timestamp(rng), timestamp(rng)
        record["createdon"], record["modifiedon"] = created, max(created, modified)
        return user_id

    def state(self, table: str, record: Record, inactive: float = INACTIVE_SHARE,
              states: tuple[int, ...] | None = None) -> None:
        pairs = self.statuses[table]
        wanted_inactive = self.rng.random() < inactive
        pool = sorted(s for s, st in pairs.items() if (st != 0) == wanted_inactive and (states is None or st in states))
        status = self.rng.choice(pool or sorted(s for s, st in pairs.items() if states is None or st in states))
        record["statecode"], record["statuscode"] = pairs[status], status

    # -- the book ------------------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[str, Record]]:
        yield from self.accounts()
        yield from self.contacts()
        yield from self.leads()
        yield from self.opportunities()
        yield from self.activities()
        yield from self.notes()
        yield from self.account_leads()

    def accounts(self) -> Iterator[tuple[str, Record]]:
        rng, pools = self.rng, self.pools
        for index in range(self.count["account"]):
            name, domain = self.company(index)
            record: Record = {
                "accountid": self.id("account", index), "name": name, "accountnumber": f"AC-{index + 1:07d}",
                "emailaddress1": f"info@{domain}", "telephone1": pools.phone(rng), "fax": pools.phone(rng),
                "websiteurl": f"https://www.{domain}", "revenue": round(rng.uniform(5e4, 5e8), 2),
                "numberofemployees": rng.randint(2, 50_000), "industrycode": rng.choice(_INDUSTRIES),
                "customertypecode": rng.choice(_CUSTOMER_TYPES), "description": rng.choice(pools.phrases),
                **pools.address(rng),
            }
            set_lookup(record, "transactioncurrencyid", "transactioncurrency", self.ref.currency_id)
            if index and rng.random() < 0.25:
                set_lookup(record, "parentaccountid", "account", self.id("account", rng.randrange(index)))
            contact = self.primary_contact(index)
            set_lookup(record, "primarycontactid", "contact", None if contact is None else self.id("contact", contact))
            self.stamp(record)
            self.state("account", record)
            yield "account", record

    def contacts(self) -> Iterator[tuple[str, Record]]:
        rng, pools = self.rng, self.pools
        for index in range(self.count["contact"]):
            person = self.person(index)
            record: Record = {
                "contactid": self.id("contact", index), "firstname": person.first, "lastname": person.last,
                "fullname": person.full, "jobtitle": person.job, "emailaddress1": person.email,
                "telephone1": person.phone, "mobilephone": person.mobile, "gendercode": rng.choice((1, 2)),
                "birthdate": f"{rng.randint(1950, 2002)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "donotemail": rng.random() < 0.1, **pools.address(rng),
            }
            if rng.random() < 0.3:
                record["description"] = pools.note_about(rng, person)
            parent = self.contact_parent(index)
            if parent is not None:
                set_lookup(record, "parentcustomerid", parent[0], self.id(*parent))
            set_lookup(record, "transactioncurrencyid", "transactioncurrency", self.ref.currency_id)
            self.stamp(record)
            self.state("contact", record)
            yield "contact", record

    def leads(self) -> Iterator[tuple[str, Record]]:
        rng, pools = self.rng, self.pools
        for index in range(self.count["lead"]):
            person = pools.person(rng)
            company, domain = pools.company(rng)
            record: Record = {
                "leadid": self.id("lead", index), "subject": f"Interest in {rng.choice(pools.topics)}",
                "firstname": person.first, "lastname": person.last, "fullname": person.full, "companyname": company,
                "jobtitle": person.job, "emailaddress1": person.email, "telephone1": person.phone,
                "mobilephone": person.mobile, "websiteurl": f"https://{domain}",
                "leadsourcecode": rng.choice(_LEAD_SOURCES), "estimatedamount": round(rng.uniform(1e3, 2e6), 2),
                "description": pools.note_about(rng, person), **pools.address(rng),
            }
            if rng.random() < 0.3:
                set_lookup(record, "parentaccountid", "account", self.any_row("account"))
            if rng.random() < 0.2:
                set_lookup(record, "parentcontactid", "contact", self.any_row("contact"))
            set_lookup(record, "transactioncurrencyid", "transactioncurrency", self.ref.currency_id)
            self.stamp(record)
            if self.qualified(index):
                self.state("lead", record, inactive=1.0, states=(1,))
                set_lookup(record, "qualifyingopportunityid", "opportunity", self.id("opportunity", index))
            else:
                self.state("lead", record, inactive=0.2, states=(0, 2))
            yield "lead", record

    def opportunities(self) -> Iterator[tuple[str, Record]]:
        rng, pools = self.rng, self.pools
        for index in range(self.count["opportunity"]):
            account = rng.randrange(self.count["account"])
            record: Record = {
                "opportunityid": self.id("opportunity", index),
                "name": f"{self.company(account)[0]}: {rng.choice(pools.topics)}",
                "estimatedvalue": round(rng.uniform(1e3, 5e6), 2), "closeprobability": rng.randint(5, 95),
                "estimatedclosedate": f"{rng.randint(2023, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "opportunityratingcode": rng.choice((1, 2, 3)), "description": rng.choice(pools.sentences),
            }
            if rng.random() < 0.75:
                set_lookup(record, "customerid", "account", self.id("account", account))
                set_lookup(record, "parentaccountid", "account", self.id("account", account))
            else:
                contact = self.any_row("contact")
                set_lookup(record, "customerid", "contact", contact)
                set_lookup(record, "parentcontactid", "contact", contact)
            if index < self.count["lead"] and self.qualified(index):
                set_lookup(record, "originatingleadid", "lead", self.id("lead", index))
            set_lookup(record, "transactioncurrencyid", "transactioncurrency", self.ref.currency_id)
            self.stamp(record)
            self.state("opportunity", record, inactive=0.35)
            yield "opportunity", record

    def regarding(self) -> tuple[str, int]:
        draw, count = self.rng.random(), self.count
        if draw < 0.45 or not (count["lead"] or count["opportunity"]):
            table = "contact"
        elif draw < 0.75:
            table = "account"
        elif (draw < 0.88 and count["lead"]) or not count["opportunity"]:
            table = "lead"
        else:
            table = "opportunity"
        return table, self.rng.randrange(count[table])

    def activities(self) -> Iterator[tuple[str, Record]]:
        rng, pools = self.rng, self.pools
        for table in ("task", "phonecall", "email"):
            for index in range(self.count[table]):
                target, target_index = self.regarding()
                contact = target_index if target == "contact" else rng.randrange(self.count["contact"])
                who = self.person(contact)
                activity_id = self.id(table, index)
                record: Record = {"activityid": activity_id, "activitytypecode": table,
                                  "prioritycode": rng.choice((0, 1, 1, 2)), "scheduledend": timestamp(rng)}
                set_lookup(record, "regardingobjectid", target, self.id(target, target_index))
                owner = self.stamp(record)
                self.state(table, record, inactive=0.5)
                if table == "task":
                    record["subject"] = f"Follow up with {who.full}"
                    record["description"] = pools.note_about(rng, who)
                    record["percentcomplete"] = 100 if record["statecode"] == 1 else rng.choice((0, 25, 50))
                    yield table, record
                    continue
                sender = self.emails[owner]
                if table == "phonecall":
                    record |= {"subject": f"Call {who.full}", "phonenumber": who.phone, "directioncode": True,
                               "description": pools.note_about(rng, who)}
                    addresses = (sender, who.phone)
                else:
                    record |= {"subject": f"Re: {rng.choice(pools.topics)}", "sender": sender,
                               "torecipients": f"{who.email};", "directioncode": True,
                               "description": f"<p>Hello {who.first},</p><p>{pools.note_about(rng, who)}</p>"}
                    addresses = (sender, who.email)
                yield table, record
                for mask, party_table, party_id, address in ((1, "systemuser", owner, addresses[0]),
                                                             (2, "contact", self.id("contact", contact), addresses[1])):
                    party: Record = {"activitypartyid": self.id(f"activityparty-{mask}-{table}", index),
                                     "participationtypemask": mask, "addressused": address}
                    set_lookup(party, "activityid", table, activity_id)
                    set_lookup(party, "partyid", party_table, party_id)
                    yield "activityparty", party

    def notes(self) -> Iterator[tuple[str, Record]]:
        rng, pools = self.rng, self.pools
        for index in range(self.count["annotation"]):
            target, target_index = self.regarding()
            who = self.person(target_index if target == "contact" else rng.randrange(self.count["contact"]))
            record: Record = {"annotationid": self.id("annotation", index), "subject": f"Note about {who.full}",
                              "notetext": pools.note_about(rng, who), "isdocument": False, "objecttypecode": target}
            set_lookup(record, "objectid", target, self.id(target, target_index))
            self.stamp(record)
            yield "annotation", record

    def account_leads(self) -> Iterator[tuple[str, Record]]:
        count = self.count
        for index in range(count["accountleads"] if count["lead"] else 0):
            # distinct pairs without remembering them: lead index walks, account is a function of it
            lead = index % count["lead"]
            account = (self.pick(count["account"], "accountleads", lead) + index // count["lead"]) % count["account"]
            if index >= count["lead"] * count["account"]:
                break
            yield "accountleads", {"accountleadid": self.id("accountleads", index),
                                   "accountid": self.id("account", account), "leadid": self.id("lead", lead)}
