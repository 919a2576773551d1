"""Masking throughput: field values/s with masking_rules/default.yaml and notes/s (free-text scrub),
beside the naive approach of reseeding Faker for every value, in the same run.

Run: .venv/bin/python bench/masking_speed.py [--records 20000] [--notes 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import random
import time
from pathlib import Path
from typing import Any

from faker import Faker

from seeder.masking import Masker, load_rules
from seeder.metadata.crm import crm_core_schema

REPO = Path(__file__).resolve().parent.parent
KEY = b"benchmark-masking-key-0123456789"


def contacts(n: int, seed: int = 1) -> list[dict[str, Any]]:
    fake = Faker("en_US", use_weighting=False)
    fake.seed_instance(seed)
    rng = random.Random(seed)
    out = []
    for i in range(n):
        first, last = fake.first_name(), fake.last_name()
        out.append({
            "contactid": f"{i:08d}-0000-0000-0000-000000000000",
            "firstname": first, "lastname": last, "fullname": f"{first} {last}",
            "emailaddress1": f"{first}.{last}{i}@example.org".lower(), "telephone1": fake.phone_number(),
            "mobilephone": fake.phone_number(), "address1_line1": fake.street_address(),
            "address1_city": fake.city(), "address1_postalcode": fake.postcode(),
            "birthdate": f"19{rng.randrange(40, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}",
            "jobtitle": "Engineer", "_parentcustomerid_value": "00000000-0000-0000-0000-000000000001",
        })
    return out


def luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(reversed(digits)))
    number = "".join(map(str, digits)) + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def notes(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """~245-character notes, each with a full name, an e-mail, a phone and a card number (dense)."""
    rng = random.Random(2)
    out = []
    for i, p in enumerate(people):
        out.append({
            "annotationid": f"{i:08d}-1111-0000-0000-000000000000",
            "_objectid_value": p["contactid"],
            "notetext": (f"Spoke to {p['fullname']} about the renewal; they asked us to use {p['emailaddress1']} "
                         f"from now on and to call {p['telephone1']} before noon. Payment by card "
                         f"{luhn_card(rng)} was declined, please follow up next week with the account team."),
        })
    return out


def bench_default_rules(people: list[dict[str, Any]]) -> tuple[float, int]:
    masker = Masker(load_rules(REPO / "masking_rules" / "default.yaml"), KEY, crm_core_schema())
    masker.mask_record("contact", dict(people[0]))  # compile slots and build pools outside the timing
    before = sum(s.values for s in masker.stats())
    start = time.perf_counter()
    for record in people:
        masker.mask_record("contact", record)
    seconds = time.perf_counter() - start
    return seconds, sum(s.values for s in masker.stats()) - before


def bench_notes(people: list[dict[str, Any]], texts: list[dict[str, Any]], related: bool) -> float:
    masker = Masker(load_rules(REPO / "masking_rules" / "default.yaml"), KEY, crm_core_schema())
    # as mask_snapshot does: a first pass learns names/e-mails as phrases and the regarding record's pairs
    pairs = {p["contactid"]: masker.learn("contact", p) for p in people} if related else {}
    masker.mask_record("annotation", dict(texts[0]))
    start = time.perf_counter()
    for note in texts:
        masker.mask_record("annotation", note, pairs.get(note["_objectid_value"], ()))
    return time.perf_counter() - start


NAIVE_PROVIDERS = {
    "firstname": "first_name", "lastname": "last_name", "fullname": "name", "emailaddress1": "email",
    "telephone1": "phone_number", "mobilephone": "phone_number", "address1_line1": "street_address",
    "address1_city": "city", "address1_postalcode": "postcode", "birthdate": "date_of_birth",
}


def bench_naive_reseed(people: list[dict[str, Any]]) -> tuple[float, int]:
    """HMAC → Faker.seed_instance → provider call, per value (use_weighting=False, the fast setting)."""
    fake = Faker("en_US", use_weighting=False)
    values = 0
    start = time.perf_counter()
    for record in people:
        for column, provider in NAIVE_PROVIDERS.items():
            digest = hmac.digest(KEY, f"{column}\x1f{record[column]}".encode(), hashlib.sha256)
            fake.seed_instance(int.from_bytes(digest[:8], "big"))
            getattr(fake, provider)()
            values += 1
    return time.perf_counter() - start, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--notes", type=int, default=20_000)
    args = parser.parse_args()
    people = contacts(max(args.records, args.notes))
    seconds, values = bench_default_rules(people[: args.records])
    print(f"default rules, contact ({args.records} records, {values} field values): "
          f"{values / seconds:,.0f} values/s, {args.records / seconds:,.0f} records/s")
    texts = notes(people[: args.notes])
    own = bench_notes(people[: args.notes], texts, related=False)
    rel = bench_notes(people[: args.notes], texts, related=True)
    print(f"notes scrub, detectors only ({args.notes} notes, ~{len(texts[0]['notetext'])} chars): "
          f"{args.notes / own:,.0f} notes/s")
    print(f"notes scrub, detectors + regarding record's values + {len(people)} learned phrases: "
          f"{args.notes / rel:,.0f} notes/s")
    naive_people = people[: min(args.records, 5_000)]
    naive_seconds, naive_values = bench_naive_reseed(naive_people)
    print(f"naive Faker reseed per value ({naive_values} values): {naive_values / naive_seconds:,.0f} values/s")


if __name__ == "__main__":
    main()
