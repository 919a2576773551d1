"""The mask verb on real snapshots: masked manifest, masking manifest, determinism, coverage, leak check."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from faker import Faker

from seeder.errors import MaskingError
from seeder.mask import MASKING_MANIFEST, check_coverage, leakcheck, mask_snapshot
from seeder.masking import parse_rules
from seeder.metadata.crm import crm_core_schema
from seeder.model import Record
from seeder.snapshot import Snapshot, SnapshotWriter

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RULES = REPO / "masking_rules" / "default.yaml"
KEY = b"snapshot-test-masking-key-012345"


def _iban(rng: random.Random) -> str:
    bban = "".join(rng.choice("0123456789") for _ in range(18))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "DE00")) % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i : i + 4] for i in range(0, 16, 4))


def synthetic_org(seed: int, contacts: int) -> dict[str, list[Record]]:
    """A small CRM organisation whose notes and e-mails talk about its contacts (names, e-mails, phones)."""
    rng = random.Random(seed)
    fake = Faker("en_US", use_weighting=False)
    fake.seed_instance(seed)

    def gid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    accounts, people, notes, mails, leads, users = [], [], [], [], [], []
    for _ in range(max(1, contacts // 5)):
        accounts.append({"accountid": gid(), "name": fake.company(), "telephone1": fake.phone_number(),
                         "emailaddress1": fake.company_email(), "address1_city": fake.city(),
                         "address1_line1": fake.street_address(), "address1_postalcode": fake.postcode(),
                         "description": f"Key account. Switchboard {fake.phone_number()}."})
    for i in range(contacts):
        first, last = fake.first_name(), fake.last_name()
        email = f"{first}.{last}{i}@{fake.free_email_domain()}".lower()
        phone = fake.phone_number()
        account = rng.choice(accounts)
        contact = {
            "contactid": gid(), "firstname": first, "lastname": last, "fullname": f"{first} {last}",
            "emailaddress1": email, "telephone1": phone, "mobilephone": fake.phone_number(),
            "birthdate": fake.date_of_birth().isoformat(), "address1_line1": fake.street_address(),
            "address1_city": fake.city(), "address1_postalcode": fake.postcode(), "jobtitle": fake.job(),
            "_parentcustomerid_value": account["accountid"],
            "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
            "description": f"{first} prefers e-mail ({email}).",
        }
        people.append(contact)
        notes.append({
            "annotationid": gid(), "subject": f"Call with {first} {last}",
            "notetext": f"Spoke to {first} {last} on {phone}; confirm by mail to {email}. "
                        f"Refund to IBAN {_iban(rng)}, card {_card(rng)}.",
            "_objectid_value": contact["contactid"],
            "_objectid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "contact",
        })
        mails.append({
            "activityid": gid(), "subject": f"Your order, {first}", "sender": email,
            "torecipients": f"{email}; sales@contoso.com",
            "description": f"<p>Dear {first} {last},</p><p>call us back or reply to {email}.</p>",
            "_regardingobjectid_value": contact["contactid"],
        })
    for _ in range(contacts // 4):
        first, last = fake.first_name(), fake.last_name()
        leads.append({"leadid": gid(), "firstname": first, "lastname": last, "fullname": f"{first} {last}",
                      "emailaddress1": people[rng.randrange(len(people))]["emailaddress1"],
                      "companyname": fake.company(), "subject": f"Interest from {first} {last}",
                      "telephone1": fake.phone_number()})
    for i in range(5):
        first, last = fake.first_name(), fake.last_name()
        users.append({"systemuserid": gid(), "firstname": first, "lastname": last, "fullname": f"{first} {last}",
                      "domainname": f"{first}.{last}{i}@contoso.onmicrosoft.com".lower(),
                      "internalemailaddress": f"{first}.{last}{i}@contoso.com".lower()})
    return {"account": accounts, "contact": people, "annotation": notes, "email": mails, "lead": leads,
            "systemuser": users}


def write_snapshot(path: Path, tables: dict[str, list[Record]]) -> Path:
    with SnapshotWriter(path, schema=crm_core_schema().select(list(tables)), source=None) as writer:
        for table, rows in tables.items():
            writer.write_table(table, rows)
    return path


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_snapshot(tmp_path_factory.mktemp("orig") / "snap", synthetic_org(seed=7, contacts=300))


@pytest.fixture(scope="module")
def masked(original: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("masked") / "snap"
    mask_snapshot(original, out, rules=DEFAULT_RULES, key=KEY)
    return out


def records(path: Path, table: str) -> list[Record]:
    return list(Snapshot.open(path).records(table))


def test_masked_manifest_and_masking_manifest(original: Path, masked: Path) -> None:
    snap = Snapshot.open(masked)
    state = snap.manifest.masking
    assert state["masked"] is True and state["rule_set"] == "default"
    import hashlib

    assert state["rules_sha256"] == hashlib.sha256(DEFAULT_RULES.read_bytes()).hexdigest()
    evidence = orjson.loads(snap.component(MASKING_MANIFEST))
    columns = {(c["table"], c["column"]): c for c in evidence["columns"]}
    assert columns[("contact", "emailaddress1")]["masker"] == "email"
    assert columns[("contact", "emailaddress1")]["values"] == 300
    assert evidence["tables"]["contact"] == 300
    raw = snap.component(MASKING_MANIFEST).decode()
    for person in records(original, "contact")[:50]:
        assert person["emailaddress1"] not in raw and person["lastname"] not in raw.split('"')


def test_ids_lookups_and_row_counts_survive(original: Path, masked: Path) -> None:
    before, after = records(original, "contact"), records(masked, "contact")
    assert [r["contactid"] for r in before] == [r["contactid"] for r in after]
    assert [r["_parentcustomerid_value"] for r in before] == [r["_parentcustomerid_value"] for r in after]
    assert all(a["emailaddress1"] != b["emailaddress1"] for a, b in zip(before, after, strict=True))
    assert all(a["fullname"] == f"{a['firstname']} {a['lastname']}" for a in after)


def test_joins_survive_across_tables(masked: Path) -> None:
    emails = {r["emailaddress1"] for r in records(masked, "contact")}
    assert {r["emailaddress1"] for r in records(masked, "lead")} <= emails
    assert {r["sender"] for r in records(masked, "email")} <= emails


def test_notes_name_the_masked_contact(original: Path, masked: Path) -> None:
    by_id = {r["contactid"]: r for r in records(masked, "contact")}
    for note in records(masked, "annotation")[:50]:
        person = by_id[note["_objectid_value"]]
        assert person["fullname"] in note["notetext"] and person["emailaddress1"] in note["notetext"]


def test_leakcheck_finds_nothing_on_the_masked_org(original: Path, masked: Path) -> None:
    report = leakcheck(original, masked)
    assert report.ok, report.to_dict()["hit_list"][:5]
    assert report.values_indexed > 1000 and report.fields_checked > 3000 and report.missing_records == 0


def test_leakcheck_reports_a_planted_leak_without_values(original: Path, tmp_path: Path) -> None:
    rules = parse_rules(DEFAULT_RULES.read_text().replace(
        "    notetext: scrub", "    notetext: {masker: scrub, record_aware: false, detectors: [iban]}"),
        str(DEFAULT_RULES))
    out = tmp_path / "leaky"
    mask_snapshot(original, out, rules=rules, key=KEY)
    report = leakcheck(original, out)
    assert not report.ok
    assert {h.table for h in report.hits} == {"annotation"}
    assert {h.column for h in report.hits} == {"notetext"}
    text = orjson.dumps(report.to_dict()).decode()
    for person in records(original, "contact"):
        assert person["emailaddress1"] not in text and person["fullname"] not in text


def test_masking_is_deterministic_across_runs(original: Path, masked: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    mask_snapshot(original, again, rules=DEFAULT_RULES, key=KEY)
    for table in ("contact", "annotation", "email", "lead"):
        assert records(again, table) == records(masked, table)


def test_refuses_to_mask_twice(masked: Path, tmp_path: Path) -> None:
    with pytest.raises(MaskingError, match="already masked"):
        mask_snapshot(masked, tmp_path / "x", rules=DEFAULT_RULES, key=KEY)


def test_leakcheck_needs_a_masked_snapshot(original: Path) -> None:
    with pytest.raises(MaskingError, match="not a masked snapshot"):
        leakcheck(original, original)


def test_coverage_gate_lists_uncovered_columns(original: Path) -> None:
    assert check_coverage(original, DEFAULT_RULES).ok
    narrow = parse_rules("name: narrow\ntables:\n  contact:\n    firstname: fake:first_name\n")
    report = check_coverage(original, narrow)
    assert not report.ok
    uncovered = {(c.table, c.column) for c in report.uncovered}
    assert ("contact", "emailaddress1") in uncovered and ("annotation", "notetext") in uncovered
    assert ("contact", "firstname") not in uncovered
    assert ("contact", "contactid") not in uncovered and ("contact", "jobtitle") not in uncovered


def test_demo_org_masked_with_default_rules_has_no_leaks(tmp_path: Path) -> None:
    demo = pytest.importorskip("seeder.emulator.demo", reason="the demo generator is not available")
    schema = crm_core_schema()
    tables: dict[str, list[Record]] = {}
    for table, record in demo.generate_demo(schema, seed=1, records=2000):
        tables.setdefault(table, []).append(record)
    original = tmp_path / "demo"
    with SnapshotWriter(original, schema=schema.select(list(tables)), source=None) as writer:
        for table, rows in tables.items():
            writer.write_table(table, _dedupe(rows, schema.table(table).primary_id))
    out = tmp_path / "demo-masked"
    mask_snapshot(original, out, rules=DEFAULT_RULES, key=KEY)
    report = leakcheck(original, out)
    assert report.ok, (report.to_dict()["by_column"], report.to_dict()["hit_list"][:5])
    # single ordinary words that are also someone's name ("Page", "Major") may stay: reported as weak
    assert len(report.weak_hits) <= report.fields_checked // 50


def _dedupe(rows: list[Record], pk: str) -> Iterator[Record]:
    seen: set[str] = set()
    for row in rows:
        if row[pk] not in seen:
            seen.add(row[pk])
            yield row


def test_encrypted_snapshots_mask_and_leakcheck_with_their_key(tmp_path: Path) -> None:
    snapshot_key = bytes(range(32))
    org = synthetic_org(seed=11, contacts=40)
    original = tmp_path / "enc"
    with SnapshotWriter(original, schema=crm_core_schema().select(list(org)), source=None,
                        key=snapshot_key) as writer:
        for table, rows in org.items():
            writer.write_table(table, rows)
    out = tmp_path / "enc-masked"
    report = mask_snapshot(original, out, rules=DEFAULT_RULES, key=KEY, snapshot_key=snapshot_key)
    assert report.tables["contact"] == 40 and report.values_masked > 0
    assert Snapshot.open(out).manifest.encrypted
    assert leakcheck(original, out, snapshot_key=snapshot_key).ok
    assert check_coverage(original, DEFAULT_RULES).ok  # without the key: metadata only
