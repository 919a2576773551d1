"""The $filter parser and Python evaluator in seeder.odata."""

from __future__ import annotations

import pytest

from seeder.errors import UsageError
from seeder.odata import Call, Compare, In, Literal, Logical, Not, Prop, evaluate, parse_filter, properties

ROW = {
    "name": "O'Brien & Sons 50%",
    "revenue": 1500.5,
    "statecode": 0,
    "statuscode": 1,
    "creditonhold": False,
    "createdon": "2024-01-01T01:00:00Z",
    "_parentcustomerid_value": "6d5d6f1a-0000-0000-0000-0000000000ab",
    "description": None,
    "RequiredLevel": {"Value": "ApplicationRequired"},
}


def test_parse_shapes() -> None:
    node = parse_filter("name eq 'O''Brien' and not (revenue gt 10.5 or statecode eq 1)")
    assert isinstance(node, Logical) and node.op == "and"
    assert node.left == Compare("eq", Prop(("name",)), Literal("O'Brien", "string"))
    assert isinstance(node.right, Not)
    assert parse_filter("x in (1,2)") == In(Prop(("x",)), (Literal(1, "number"), Literal(2, "number")))
    guid = parse_filter("_a_value eq 6D5D6F1A-0000-0000-0000-0000000000AB")
    assert isinstance(guid, Compare) and guid.right == Literal("6d5d6f1a-0000-0000-0000-0000000000ab", "guid")
    dt = parse_filter("createdon ge 2024-01-01T07:00:00+01:00")
    assert isinstance(dt, Compare) and dt.right == Literal("2024-01-01T06:00:00Z", "datetime")
    assert isinstance(parse_filter("contains(tolower(name),'x')"), Call)
    enum = parse_filter("OwnershipType eq Microsoft.Dynamics.CRM.OwnershipTypes'UserOwned'")
    assert isinstance(enum, Compare) and enum.right == Literal("UserOwned", "string")
    assert properties(parse_filter("a eq 1 or (b ne null and contains(c,'x'))")) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name eq 'o''brien & sons 50%'", True),  # case-insensitive, quote is data
        ("contains(name,'50%')", True),
        ("contains(name,'5_%')", False),  # _ is not a wildcard
        ("startswith(name,'O''B')", True),
        ("endswith(name,'%')", True),
        ("revenue gt 1000 and revenue le 1500.5", True),
        ("revenue lt 1000", False),
        ("statecode eq 0 and not (statuscode eq 2)", True),
        ("creditonhold eq false", True),
        ("description eq null", True),
        ("description ne null", False),
        ("description ne 'x'", False),  # SQL semantics: comparisons with null are false
        ("createdon ge 2024-01-01T01:00:00Z", True),
        ("createdon gt 2024-01-01T01:30:00+01:00", True),  # 00:30Z
        ("createdon lt 2024-01-01", False),
        ("_parentcustomerid_value eq 6D5D6F1A-0000-0000-0000-0000000000AB", True),
        ("parentcustomerid eq 6d5d6f1a-0000-0000-0000-0000000000ab", True),
        ("statuscode in (1,2)", True),
        ("Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=['1','2'])", True),
        ("Microsoft.Dynamics.CRM.NotIn(PropertyName='statuscode',PropertyValues=['1'])", False),
        ("Microsoft.Dynamics.CRM.Null(PropertyName='description')", True),
        ("RequiredLevel/Value eq 'ApplicationRequired'", True),
        ("missing eq null", True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert evaluate(parse_filter(text), ROW) is expected


def test_alias() -> None:
    node = parse_filter("name eq @p1 and statecode eq @p2", {"@p1": "'x'", "@p2": "0"})
    assert evaluate(node, {"name": "X", "statecode": 0})


@pytest.mark.parametrize("text", ["", "name eq", "name eq 'open", "(a eq 1", "a eq 1)", "foo(a)", "a eq 1 b",
                                  "Microsoft.Dynamics.CRM.LastXDays(PropertyName='a',PropertyValue=3)",
                                  "name eq @missing", "x in ()"])
def test_syntax_errors(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_filter(text)
    assert "position" in info.value.details
