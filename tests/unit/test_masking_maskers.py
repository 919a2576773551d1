"""Property tests of the maskers and the record masker: determinism, format, uniqueness, identity."""

from __future__ import annotations

import datetime as dt
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seeder.errors import MaskingError
from seeder.masking.engine import Masker
from seeder.masking.fake import FakePools
from seeder.masking.keys import Keyed, load_mask_key
from seeder.masking.maskers import DigitCipher
from seeder.masking.rules import parse_rules
from seeder.model import AlternateKey, Column, Schema, Table

KEY = b"unit-test-masking-key-0123456789"
OTHER_KEY = b"another-masking-key-9876543210xx"

RULES = parse_rules(
    """
name: props
tables:
  contact:
    firstname: fake:first_name
    lastname: fake:last_name
    fullname: {masker: template, template: "{firstname} {lastname}"}
    emailaddress1: {masker: email, domain: example.com}
    emailaddress2: {masker: email, domain: keep}
    telephone1: digits
    birthdate: date-shift
    anniversary: date-shift
    description: scrub
    jobtitle: keep
    nickname: "null"
    governmentid: {masker: hash, length: 12, prefix: "G"}
    accountcode: {masker: fake, provider: company}
  lead:
    emailaddress1: {masker: email, domain: example.com}
    telephone1: digits
    firstname: fake:first_name
  "*":
    "*": redact
"""
)

SCHEMA = Schema(
    tables=(
        Table(
            "contact",
            "contacts",
            "contactid",
            columns=(
                Column("contactid", "Uniqueidentifier", is_primary_id=True),
                Column("parentcustomerid", "Customer"),
                Column("accountcode", "String", max_length=100),
                Column("firstname", "String", max_length=50),
            ),
            keys=(AlternateKey("code", ("accountcode",)),),
        ),
        Table("lead", "leads", "leadid", columns=(Column("leadid", "Uniqueidentifier", is_primary_id=True),)),
    )
)

text = st.text(alphabet=string.ascii_letters + string.digits + " .-'@", min_size=1, max_size=40)
phones = st.from_regex(r"\A\+?[0-9 ()\-.]{1,24}\Z")


POOLS = FakePools()


def masker(key: bytes = KEY) -> Masker:
    return Masker(RULES, key, SCHEMA, pools=POOLS)


SHARED = masker()


@settings(max_examples=200, deadline=None)
@given(first=text, last=text, email=text, phone=phones)
def test_masking_is_deterministic_across_instances(first: str, last: str, email: str, phone: str) -> None:
    record = {"contactid": "A", "firstname": first, "lastname": last, "emailaddress1": email, "telephone1": phone}
    assert masker().mask_record("contact", record) == SHARED.mask_record("contact", dict(record))


@settings(max_examples=100, deadline=None)
@given(email=st.emails(), phone=phones, first=text)
def test_same_value_masks_identically_across_tables(email: str, phone: str, first: str) -> None:
    contact = SHARED.mask_record("contact", {"contactid": "c1", "emailaddress1": email, "telephone1": phone,
                                             "firstname": first})
    lead = SHARED.mask_record("lead", {"leadid": "l9", "emailaddress1": email.upper(), "telephone1": phone,
                                       "firstname": first})
    assert contact["emailaddress1"] == lead["emailaddress1"]
    assert contact["telephone1"] == lead["telephone1"]
    assert contact["firstname"] == lead["firstname"]


def test_pools_are_the_same_in_every_build() -> None:
    assert FakePools().get("last_name") == POOLS.get("last_name")
    assert FakePools().get("city", "de_DE") == FakePools().get("city", "de_DE")


def test_another_key_gives_other_values() -> None:
    record = {"contactid": "A", "emailaddress1": "ann@contoso.com", "telephone1": "+1 425 555 0100"}
    a, b = SHARED.mask_record("contact", record), masker(OTHER_KEY).mask_record("contact", record)
    assert a["emailaddress1"] != b["emailaddress1"] and a["telephone1"] != b["telephone1"]


@settings(max_examples=300, deadline=None)
@given(phone=phones)
def test_digits_preserve_layout_length_and_type(phone: str) -> None:
    out = SHARED.mask_record("contact", {"contactid": "A", "telephone1": phone})["telephone1"]
    assert isinstance(out, str) and len(out) == len(phone)
    for before, after in zip(phone, out, strict=True):
        assert after.isdigit() if before.isdigit() else after == before


@settings(max_examples=200, deadline=None)
@given(number=st.integers(min_value=0, max_value=10**15))
def test_digits_keep_integers_integers(number: int) -> None:
    rules = SHARED._slot("contact", "telephone1")
    assert rules is not None
    out = rules.masker.mask(number, None)  # type: ignore[arg-type]
    assert isinstance(out, int) and len(str(out)) <= len(str(number))


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5])
def test_digit_cipher_is_a_bijection_for_each_length(length: int) -> None:
    cipher = DigitCipher(Keyed(KEY), "digits")
    domain = [str(i).zfill(length) for i in range(10**length)] if length <= 4 else [
        str(i).zfill(length) for i in range(0, 10**length, 7)
    ]
    outputs = {cipher.encrypt(d) for d in domain}
    assert len(outputs) == len(domain)
    assert all(len(o) == length and o.isdigit() for o in outputs)


def test_digit_cipher_handles_long_numbers() -> None:
    cipher = DigitCipher(Keyed(KEY), "digits")
    long_number = "1234567890" * 9
    out = cipher.encrypt(long_number)
    assert len(out) == 90 and out.isdigit() and out != long_number


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=60))
def test_keep_is_identity(title: str) -> None:
    assert SHARED.mask_record("contact", {"contactid": "A", "jobtitle": title})["jobtitle"] == title


@settings(max_examples=200, deadline=None)
@given(value=st.uuids().map(str), name=text)
def test_ids_lookups_and_annotations_are_never_masked(value: str, name: str) -> None:
    record = {
        "contactid": value,
        "_parentcustomerid_value": value,
        "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
        "@odata.etag": 'W/"123"',
        "parentcustomerid": value,
        "somecolumn": name,
    }
    out = SHARED.mask_record("contact", record)
    for column in ("contactid", "_parentcustomerid_value", "@odata.etag", "parentcustomerid",
                   "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"):
        assert out[column] == record[column]
    assert out["somecolumn"] == "[redacted]"  # the "*" rule applies to ordinary columns


@settings(max_examples=50, deadline=None)
@given(values=st.lists(text, min_size=2, max_size=300, unique_by=lambda s: " ".join(s.split()).casefold()))
def test_unique_columns_stay_unique(values: list[str]) -> None:
    m = masker()  # accountcode is an alternate key: fake:company would collide without the guard
    outs = [m.mask_record("contact", {"contactid": str(i), "accountcode": v})["accountcode"]
            for i, v in enumerate(values)]
    assert len(set(outs)) == len(outs)
    again = [m.mask_record("contact", {"contactid": str(i), "accountcode": v})["accountcode"]
             for i, v in enumerate(values)]
    assert again == outs  # the guard is stable for values already seen


def test_emails_do_not_collide_in_bulk() -> None:
    outs = {SHARED.mask_record("lead", {"leadid": "x", "emailaddress1": f"user{i}@contoso.com"})["emailaddress1"]
            for i in range(20_000)}
    assert len(outs) == 20_000


@settings(max_examples=100, deadline=None)
@given(email=st.emails())
def test_email_domain_policies(email: str) -> None:
    out = SHARED.mask_record("contact", {"contactid": "A", "emailaddress1": email, "emailaddress2": email})
    assert re.fullmatch(r"[a-z.\-]+\.[a-z2-7]{5}@example\.com", out["emailaddress1"])
    assert out["emailaddress2"].endswith("@" + email.rpartition("@")[2].lower())


@settings(max_examples=200, deadline=None)
@given(
    rid=st.uuids().map(str),
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
    gap=st.integers(min_value=0, max_value=20_000),
)
def test_date_shift_keeps_order_within_a_record(rid: str, born: object, gap: int) -> None:
    assert isinstance(born, dt.date)
    later = born + dt.timedelta(days=gap)
    out = SHARED.mask_record("contact", {"contactid": rid, "birthdate": born.isoformat(),
                                         "anniversary": later.isoformat() + "T08:30:00Z"})
    shifted_born = dt.date.fromisoformat(out["birthdate"])
    shifted_later = dt.date.fromisoformat(out["anniversary"][:10])
    assert (shifted_later - shifted_born).days == gap
    assert out["anniversary"].endswith("T08:30:00Z")
    assert 1 <= abs((shifted_born - born).days) <= 365


def test_fake_never_returns_the_original_value() -> None:
    m = masker()
    pool = m.pools.get("first_name")
    for name in pool:
        assert m.mask_record("contact", {"contactid": "A", "firstname": name})["firstname"] != name


def test_template_uses_masked_columns_and_max_length_is_respected() -> None:
    out = SHARED.mask_record("contact", {"contactid": "A", "firstname": "Ann", "lastname": "Lee",
                                         "fullname": "Ann Lee", "nickname": "Annie", "governmentid": "123"})
    assert out["fullname"] == f"{out['firstname']} {out['lastname']}"
    assert out["nickname"] is None
    assert re.fullmatch(r"G[0-9a-f]{12}", out["governmentid"])
    assert len(out["firstname"]) <= 50


def test_stats_count_values_never_store_them() -> None:
    m = masker()
    m.mask_record("contact", {"contactid": "A", "firstname": "Ann", "jobtitle": "CEO", "nickname": None})
    stats = {(s.table, s.column): s.to_dict() for s in m.stats()}
    assert stats[("contact", "firstname")]["values"] == 1 and stats[("contact", "firstname")]["changed"] == 1
    assert stats[("contact", "jobtitle")]["changed"] == 0
    assert "Ann" not in repr(stats)


def test_shuffle_is_a_deterministic_permutation() -> None:
    rules = parse_rules("name: s\ntables:\n  contact:\n    jobtitle: shuffle\n")
    values = [(f"id{i}", f"title {i}") for i in range(50)]
    results = []
    for _ in range(2):
        m = Masker(rules, KEY, SCHEMA)
        assert m.shuffle_columns("contact", ["jobtitle", "contactid"]) == ["jobtitle"]
        m.prepare_shuffle("contact", "jobtitle", values)
        results.append([m.mask_record("contact", {"contactid": i, "jobtitle": v})["jobtitle"] for i, v in values])
    assert results[0] == results[1]
    assert sorted(results[0]) == sorted(v for _, v in values) and results[0] != [v for _, v in values]
    with pytest.raises(MaskingError, match="prepare_shuffle"):
        Masker(rules, KEY, SCHEMA).mask_record("contact", {"contactid": "x", "jobtitle": "t"})


def test_unknown_provider_fails_before_any_data() -> None:
    with pytest.raises(MaskingError, match="no provider"):
        Masker(parse_rules("name: s\ntables:\n  contact:\n    x: fake:no_such_thing\n"), KEY, SCHEMA)


def test_key_loading(tmp_path: Path) -> None:
    with pytest.raises(MaskingError, match="no masking key"):
        load_mask_key({})
    with pytest.raises(MaskingError, match="too short"):
        load_mask_key({"SEEDER_MASK_KEY": "short"})
    assert load_mask_key({"SEEDER_MASK_KEY": "hex:" + "ab" * 16}) == bytes([0xAB]) * 16
    key_file = tmp_path / "mask.key"
    key_file.write_text("a-key-from-a-file-123456\n")
    assert load_mask_key({"SEEDER_MASK_KEY": "ignored-because-file-wins"}, key_file) == b"a-key-from-a-file-123456"
    with pytest.raises(MaskingError, match="cannot read"):
        load_mask_key({}, tmp_path / "absent")
