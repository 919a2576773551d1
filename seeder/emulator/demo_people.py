"""Realistic personal data for the demo organisation, fast and deterministic.

Faker (seeded, ``use_weighting=False``) fills small pools of names, companies, streets, cities and phrases
once; records are then composed from the pools with a seeded :class:`random.Random`, which is what lets
100,000 records come out in seconds. Names include non-ASCII ones (French and German locales) so masking
and encoding paths meet them.
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from faker import Faker

__all__ = ["Person", "Pools", "new_id", "pools_for", "timestamp"]

_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


def new_id(rng: random.Random) -> str:
    """A version-4 shaped GUID drawn from ``rng`` (so ids repeat for the same seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def timestamp(rng: random.Random, days: int = 700) -> str:
    """A UTC datetime in the Web API format, within ``days`` after 2023-01-01."""
    moment = _EPOCH + timedelta(seconds=rng.randrange(days * 86_400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "", folded.lower())


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    mobile: str
    job: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


class Pools:
    """Value pools drawn once from Faker for one seed."""

    def __init__(self, seed: int, size: int = 400) -> None:
        fakers = []
        for offset, locale in enumerate(("en_US", "en_GB", "fr_FR", "de_DE")):
            fake = Faker(locale, use_weighting=False)
            fake.seed_instance(seed * 7919 + offset)
            fakers.append(fake)
        main = fakers[0]
        self.first = sorted({f.first_name() for f in fakers for _ in range(size // 4)})
        self.last = sorted({f.last_name() for f in fakers for _ in range(size // 4)})
        self.companies = sorted({main.company() for _ in range(size)})
        self.streets = [main.street_address() for _ in range(size)]
        self.cities = [(main.city(), main.state_abbr(), main.postcode()) for _ in range(size // 2)]
        self.jobs = sorted({main.job() for _ in range(size // 2)})
        self.phrases = [main.catch_phrase() for _ in range(size // 2)]
        self.topics = [main.bs() for _ in range(size // 2)]
        self.sentences = [main.sentence(nb_words=12) for _ in range(size // 2)]
        self.free_domains = sorted({main.free_email_domain() for _ in range(40)})

    def person(self, rng: random.Random, domain: str | None = None) -> Person:
        first, last = rng.choice(self.first), rng.choice(self.last)
        host = domain or rng.choice(self.free_domains)
        separator = rng.choice((".", "", "_"))
        email = f"{_ascii(first)}{separator}{_ascii(last)}{rng.randrange(100) if domain is None else ''}@{host}"
        return Person(first=first, last=last, email=email, phone=self.phone(rng), mobile=self.phone(rng),
                      job=rng.choice(self.jobs))

    @staticmethod
    def phone(rng: random.Random) -> str:
        return f"+1 {rng.randint(201, 989)}-{rng.randint(200, 999)}-{rng.randrange(10_000):04d}"

    def company(self, rng: random.Random) -> tuple[str, str]:
        """(company name, its web domain)."""
        name = rng.choice(self.companies)
        return name, f"{_ascii(name)[:24] or 'company'}.com"

    def address(self, rng: random.Random, prefix: str = "address1_") -> dict[str, str]:
        city, state, postcode = rng.choice(self.cities)
        return {f"{prefix}line1": rng.choice(self.streets), f"{prefix}city": city,
                f"{prefix}stateorprovince": state, f"{prefix}postalcode": postcode,
                f"{prefix}country": "United States"}

    def note_about(self, rng: random.Random, person: Person) -> str:
        """Free text that mentions a person by name, email and phone, as real notes do."""
        pattern = rng.randrange(4)
        topic = rng.choice(self.topics)
        if pattern == 0:
            return f"Spoke with {person.full} ({person.phone}) about how to {topic}. Follow up at {person.email}."
        if pattern == 1:
            return f"{person.first} asked us to {topic}; reach them on {person.mobile} or {person.email}."
        if pattern == 2:
            return f"Meeting notes: {rng.choice(self.sentences)} Contact: {person.full}, {person.email}."
        return f"{rng.choice(self.phrases)}. Owner of the request: {person.full} <{person.email}>, tel. {person.phone}."


@lru_cache(maxsize=8)
def pools_for(seed: int) -> Pools:
    """The pools of ``seed`` (built once per process; they are only read)."""
    return Pools(seed)
