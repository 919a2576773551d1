"""Masking rule sets: YAML loading, validation errors with file:line, resolution, the JSON Schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeder.errors import MaskingError
from seeder.masking.detect import coverage_report
from seeder.masking.rules import (
    EmailSpec,
    FakeSpec,
    KeepSpec,
    load_rules,
    parse_rules,
    rules_json_schema_text,
)

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "masking_rules"


def test_shorthand_and_mapping_forms() -> None:
    rs = parse_rules(
        "name: t\ntables:\n  contact:\n    firstname: fake:first_name\n"
        "    emailaddress1: email:keep\n    x: {masker: email, domain: example.org, class: mail}\n"
        "    y: keep\n"
    )
    specs = {r.column: r.spec for r in rs.rules}
    assert specs["firstname"] == FakeSpec(masker="fake", provider="first_name")
    assert isinstance(specs["emailaddress1"], EmailSpec) and specs["emailaddress1"].domain == "keep"
    assert specs["x"].value_class == "mail"
    assert isinstance(specs["y"], KeepSpec)
    assert [r.line for r in rs.rules] == [4, 5, 6, 7]


def test_errors_carry_file_and_line() -> None:
    text = (
        "name: t\n"
        "tables:\n"
        "  contact:\n"
        "    firstname: fake:first_name\n"
        "    emailaddress1: {masker: email, uniq: true}\n"
        "    birthdate: {masker: date-shift, max_days: 0}\n"
        "    other: bogus\n"
    )
    with pytest.raises(MaskingError) as info:
        parse_rules(text, "rules.yaml")
    message = str(info.value)
    assert "rules.yaml:5: tables.contact.emailaddress1.email.uniq: Extra inputs are not permitted" in message
    assert "rules.yaml:6:" in message and "max_days" in message
    assert "rules.yaml:7:" in message and "bogus" in message


def test_yaml_syntax_error_has_line() -> None:
    with pytest.raises(MaskingError, match=r"r.yaml:3: not valid YAML"):
        parse_rules("name: t\ntables:\n  a: b: c\n  d: e\n", "r.yaml")


def test_yaml_12_keeps_no_as_a_string() -> None:
    rs = parse_rules("name: t\ntables:\n  contact:\n    x: {masker: redact, text: NO}\n")
    assert rs.rules[0].spec.text == "NO"  # type: ignore[union-attr]


def test_missing_file_is_a_masking_error(tmp_path: Path) -> None:
    with pytest.raises(MaskingError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")


def test_resolution_prefers_exact_table_then_exact_column_then_file_order() -> None:
    rs = parse_rules(
        "name: t\ntables:\n"
        "  '*':\n    firstname: redact\n    'address*_line*': fake:street_address\n    'address1_*': keep\n"
        "  contact:\n    '*name': hash\n    description: scrub\n"
    )
    assert rs.resolve("contact", "firstname").spec.masker == "hash"  # type: ignore[union-attr]
    assert rs.resolve("lead", "firstname").spec.masker == "redact"  # type: ignore[union-attr]
    assert rs.resolve("lead", "address2_line3").spec.masker == "fake"  # type: ignore[union-attr]
    # the first glob written wins
    assert rs.resolve("lead", "address1_line1").spec.masker == "fake"  # type: ignore[union-attr]
    assert rs.resolve("lead", "address1_city").spec.masker == "keep"  # type: ignore[union-attr]
    assert rs.resolve("lead", "description") is None


def test_sha256_is_of_the_file_bytes() -> None:
    text = "name: t\ntables: {}\n"
    import hashlib

    assert parse_rules(text).sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_checked_in_json_schema_matches_the_model() -> None:
    assert (RULES_DIR / "masking-rules.schema.json").read_text(encoding="utf-8") == rules_json_schema_text()


def test_default_rules_load_and_cover_the_built_in_crm_schema() -> None:
    from seeder.metadata.crm import crm_core_schema

    rs = load_rules(RULES_DIR / "default.yaml")
    assert rs.name == "default"
    report = coverage_report(rs, crm_core_schema())
    assert report.ok, [c.to_dict() for c in report.uncovered]
    covered = {(c.table, c.column) for c in report.covered}
    for table in ("contact", "lead", "systemuser"):
        assert {(table, "firstname"), (table, "lastname"), (table, "fullname")} <= covered
    assert ("annotation", "notetext") in covered
    assert ("contact", "emailaddress1") in covered and ("account", "telephone1") in covered
