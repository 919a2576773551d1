"""Free-text detectors (e-mail, phone, IBAN mod-97, card Luhn), record-aware scrubbing, the leak index."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seeder.masking import Masker, parse_rules
from seeder.masking.detect import find_pii_columns
from seeder.masking.freetext import detect_spans, iban_valid, luhn_valid
from seeder.masking.leak import LeakIndex, check_pairs
from seeder.model import Column, Schema, Table

KEY = b"freetext-test-masking-key-000000"
RULES = parse_rules(
    "name: ft\ntables:\n  contact:\n    firstname: fake:first_name\n    lastname: fake:last_name\n"
    "    fullname: {masker: template, template: '{firstname} {lastname}'}\n"
    "    emailaddress1: email\n    telephone1: digits\n    description: scrub\n"
    "  annotation:\n    notetext: scrub\n"
)
SCHEMA = Schema(tables=(
    Table("contact", "contacts", "contactid", columns=(
        Column("contactid", "Uniqueidentifier", is_primary_id=True),
        Column("emailaddress1", "String", format="Email"),
        Column("telephone1", "String", format="Phone"),
        Column("firstname", "String"),
        Column("description", "Memo"),
        Column("new_notes", "Memo", is_custom=True),
        Column("new_score", "Integer", is_custom=True),
        Column("jobtitle", "String"),
        Column("parentcustomerid", "Customer"),
    )),
    Table("annotation", "annotations", "annotationid", columns=(
        Column("annotationid", "Uniqueidentifier", is_primary_id=True), Column("notetext", "Memo"))),
))
MASKER = Masker(RULES, KEY, SCHEMA)


def test_luhn_and_iban_checks() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert iban_valid("DE89370400440532013000")


def test_detectors_find_each_kind_and_skip_look_alikes() -> None:
    text = ("Mail ann.lee@contoso.co.uk or call +44 20 7946 0958 ext. 12; IBAN GB82 WEST 1234 5698 7654 32; "
            "card 4111-1111-1111-1111; order 12345 on 2024-01-15; bad card 4111 1111 1111 1112")
    kinds = [(text[s:e], k) for s, e, k in detect_spans(text, ("email", "phone", "iban", "card"))]
    assert ("ann.lee@contoso.co.uk", "email") in kinds
    assert ("+44 20 7946 0958 ext. 12", "phone") in kinds
    assert ("GB82 WEST 1234 5698 7654 32", "iban") in kinds
    assert ("4111-1111-1111-1111", "card") in kinds
    assert not any("12345" == piece or "2024" in piece for piece, _ in kinds)
    assert not any(k == "card" and "1112" in piece for piece, k in kinds)


def test_scrub_replaces_the_records_own_values_consistently() -> None:
    record = {"contactid": "c1", "firstname": "Ann", "lastname": "Lee", "fullname": "Ann Lee",
              "emailaddress1": "ann.lee@contoso.com", "telephone1": "+1 425 555 0100",
              "description": "ANN LEE (ann.lee@contoso.com, +1 425 555 0100) asked Ann to call Annabel."}
    out = MASKER.mask_record("contact", record)
    text = out["description"]
    assert out["fullname"].upper() not in text  # replaced text keeps the masked value's own casing
    assert text.startswith(out["fullname"] + " (")
    assert out["emailaddress1"] in text and out["telephone1"] in text
    assert f"asked {out['firstname']} to call Annabel." in text  # whole words only
    assert "Lee" not in text and "contoso" not in text


def test_related_pairs_reach_notes() -> None:
    _, pairs = MASKER.mask_record_pairs("contact", {"contactid": "c1", "firstname": "Ann", "lastname": "Lee",
                                                    "fullname": "Ann Lee"})
    note = MASKER.mask_record("annotation", {"annotationid": "n1", "notetext": "Ann Lee called"}, pairs)
    assert "Ann" not in note["notetext"] and note["notetext"].endswith(" called")


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(["hello", "the", "order", "is", "ready", "Mr", ",", "."]), max_size=30))
def test_scrub_leaves_text_without_pii_alone(words: list[str]) -> None:
    text = " ".join(words)
    assert MASKER.mask_record("annotation", {"annotationid": "n", "notetext": text})["notetext"] == text


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_detected_cards_keep_their_layout(seed: int) -> None:
    rng = random.Random(seed)
    digits = [rng.randrange(10) for _ in range(15)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(reversed(digits)))
    number = "".join(map(str, digits)) + str((10 - total % 10) % 10)
    card = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    out = MASKER.mask_record("annotation", {"annotationid": "n", "notetext": f"card {card} thanks"})["notetext"]
    masked = out[5:-7]
    assert masked != card and len(masked) == len(card) and masked.replace(" ", "").isdigit()


def test_find_pii_columns_uses_metadata_and_samples() -> None:
    samples = {"contact": [{"contactid": "x", "jobtitle": "CEO", "new_code": f"mail me: u{i}@x.org"}
                           for i in range(10)]}
    found = {(p.table, p.column): p.reasons for p in find_pii_columns(SCHEMA, samples)}
    assert "format Email" in found[("contact", "emailaddress1")]
    assert "format Phone" in found[("contact", "telephone1")]
    assert ("contact", "new_notes") in found and ("contact", "new_score") not in found
    assert found[("contact", "new_code")] == ("sampled values contain email",)
    assert ("contact", "jobtitle") not in found and ("contact", "parentcustomerid") not in found
    assert ("contact", "contactid") not in found


def test_leak_index_per_field_semantics() -> None:
    index = LeakIndex()
    index.add("contact", "fullname", "Ann Lee")
    index.add("contact", "telephone1", "+1 (425) 555-0100", digits=True)
    index.add("contact", "firstname", "Will")
    index.add("contact", "nickname", "Al")  # too short to index
    pairs = [
        ("annotation", "n1", {"notetext": "Call ann  LEE today"}, {"notetext": "Call Ann Lee today"}),
        ("annotation", "n2", {"notetext": "ring 425-555-0100"}, {"notetext": "ring +1 425 555 0100"}),
        ("annotation", "n2b", {"notetext": "ring 425-555-0100"}, {"notetext": "ring 425-555-0199"}),
        ("annotation", "n3", {"notetext": "Bob Ray"}, {"notetext": "Ann Lee"}),  # introduced, not leaked
        ("annotation", "n4", {"notetext": "I will call"}, {"notetext": "I will call"}),
        ("contact", "c1", {"firstname": "Will"}, {"firstname": "Will"}),
        ("annotation", "n5", None, {"notetext": "Ann Lee"}),
    ]
    report = check_pairs(index, pairs)
    strong = {(h.record_id, h.source) for h in report.hits}
    assert strong == {("n1", "contact.fullname"), ("n2", "contact.telephone1"), ("c1", "contact.firstname")}
    assert {h.record_id for h in report.weak_hits} == {"n4"}
    assert report.missing_records == 1 and not report.ok
    assert "Ann" not in repr(report.to_dict()) and "425" not in repr(report.to_dict())


@pytest.mark.parametrize("number", ["+1 425 555 0100", "425.555.0100"])
def test_leak_index_finds_phones_in_any_layout(number: str) -> None:
    index = LeakIndex()
    index.add("contact", "telephone1", "4255550100", digits=True)
    report = check_pairs(index, [("note", "n", {"t": f"call {number}"}, {"t": f"call {number} now"})])
    assert len(report.hits) == 1


def test_learned_phrases_and_companions_reach_any_text() -> None:
    m = Masker(RULES, KEY, SCHEMA)
    pairs = m.learn("contact", {"contactid": "c1", "firstname": "Hans-H.", "lastname": "Barth",
                                "fullname": "Hans-H. Barth", "emailaddress1": "hb@contoso.com"})
    assert len(m.phrases) >= 2 and ("Barth", m.mask_record("contact", {"contactid": "c1",
                                                                       "lastname": "Barth"})["lastname"]) in pairs
    masked = m.mask_record("contact", {"contactid": "c1", "firstname": "Hans-H.", "lastname": "Barth",
                                       "fullname": "Hans-H. Barth", "emailaddress1": "hb@contoso.com"})
    # a note about nobody in particular still has the learned name, its first name and e-mail replaced
    note = m.mask_record("annotation", {"annotationid": "n1",
                                        "notetext": "Hello Hans-H., owner: HANS-H. BARTH <hb@contoso.com>."})
    text = note["notetext"]
    assert "Hans" not in text and "BARTH" not in text and "contoso" not in text
    assert masked["fullname"] in text and masked["emailaddress1"] in text
    assert text.startswith(f"Hello {masked['firstname']}")


def test_learning_counts_nothing() -> None:
    m = Masker(RULES, KEY, SCHEMA)
    m.learn("contact", {"contactid": "c1", "firstname": "Ann", "lastname": "Lee", "fullname": "Ann Lee"})
    assert all(s.values == 0 for s in m.stats())
