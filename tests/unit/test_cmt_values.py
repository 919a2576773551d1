"""CMT value text ↔ Web API JSON values, type by type, and the HTML layer of string values."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seeder.cmt.values import (
    ATTRIBUTE_TYPE_BY_CMT,
    cmt_type_for,
    decode_value,
    encode_value,
    html_decode,
    html_encode,
    xml_compatible,
)


@pytest.mark.parametrize(
    ("cmt_type", "text", "value"),
    [
        ("string", "test 1", "test 1"),
        ("string", "Root &lt;&quot;&quot;&gt; &#39;&#39;&#233;&amp;&amp;@ \\ /", "Root <\"\"> ''é&&@ \\ /"),
        ("string", "&gt;= 1, &lt; 5", ">= 1, < 5"),
        ("guid", "6AFE7CDA-9D4F-F011-877B-6045BDCCF7AC", "6afe7cda-9d4f-f011-877b-6045bdccf7ac"),
        ("guid", "{6afe7cda-9d4f-f011-877b-6045bdccf7ac}", "6afe7cda-9d4f-f011-877b-6045bdccf7ac"),
        ("number", "33", 33),
        ("integer", "-7", -7),
        ("bigint", "9007199254740993", 9007199254740993),
        ("bool", "True", True),
        ("bool", "False", False),
        ("bool", "1", True),
        ("datetime", "2025-06-28T19:06:20.0000000Z", "2025-06-28T19:06:20Z"),
        ("datetime", "2025-06-28T19:06:20.1230000Z", "2025-06-28T19:06:20.123Z"),
        ("datetime", "2025-06-10T00:00:00.0000000", "2025-06-10"),
        ("datetime", "2025-06-10T00:00:00.0000000Z", "2025-06-10T00:00:00Z"),
        ("datetime", "2025-06-10T08:30:00.0000000+02:00", "2025-06-10T08:30:00+02:00"),
        ("decimal", "4.9000000000", 4.9),
        ("money", "4325.0000000000", 4325.0),
        ("decimal", "1.000000000000", 1.0),
        ("float", "2223.45", 2223.45),
        ("optionsetvalue", "794560000", 794560000),
        ("state", "0", 0),
        ("status", "2", 2),
        ("optionsetvaluecollection", "[-1,333820000,-1]", "333820000"),
        ("optionsetvaluecollection", "[-1,333820000,333820002,-1]", "333820000,333820002"),
        ("optionsetvaluecollection", "1,2", "1,2"),
    ],
)
def test_decode_real_cmt_values(cmt_type: str, text: str, value: object) -> None:
    assert decode_value(cmt_type, text) == value
    assert type(decode_value(cmt_type, text)) is type(value)


@pytest.mark.parametrize(
    ("cmt_type", "value", "text"),
    [
        ("string", "a < b & 'c' \"d\" é\nnext", "a &lt; b &amp; &#39;c&#39; &quot;d&quot; &#233;\nnext"),
        ("guid", "6AFE7CDA-9D4F-F011-877B-6045BDCCF7AC", "6afe7cda-9d4f-f011-877b-6045bdccf7ac"),
        ("number", 33, "33"),
        ("bool", True, "True"),
        ("bool", False, "False"),
        ("datetime", "2025-06-28T19:06:20Z", "2025-06-28T19:06:20.0000000Z"),
        ("datetime", "2025-06-10", "2025-06-10T00:00:00.0000000"),
        ("money", 4325.0, "4325.0"),
        ("decimal", 4.9, "4.9"),
        ("decimal", 1e-7, "0.0000001"),
        ("float", 12345678901.5, "12345678901.5"),
        ("optionsetvaluecollection", "1,2", "[-1,1,2,-1]"),
        ("optionsetvaluecollection", [3], "[-1,3,-1]"),
        ("status", 1, "1"),
    ],
)
def test_encode_to_cmt_text(cmt_type: str, value: object, text: str) -> None:
    assert encode_value(cmt_type, value) == text


@pytest.mark.parametrize(
    ("cmt_type", "text"),
    [
        ("number", "12.5"),
        ("number", "abc"),
        ("bool", "yes"),
        ("guid", "not-a-guid"),
        ("datetime", "2025-13-40T00:00:00Z"),
        ("datetime", "yesterday"),
        ("decimal", "NaN"),
        ("money", "1e400"),
        ("decimal", "12345678901234567890.123456789"),
        ("entityreference", "6afe7cda-9d4f-f011-877b-6045bdccf7ac"),
        ("partylist", ""),
    ],
)
def test_unparsable_values_are_errors(cmt_type: str, text: str) -> None:
    with pytest.raises(ValueError):
        decode_value(cmt_type, text)


@pytest.mark.parametrize(
    ("cmt_type", "value"),
    [("number", True), ("number", 1.5), ("bool", 1), ("string", 5), ("decimal", float("inf")), ("guid", 3)],
)
def test_values_of_the_wrong_json_type_are_refused(cmt_type: str, value: object) -> None:
    with pytest.raises(ValueError):
        encode_value(cmt_type, value)


def test_attribute_type_mapping_is_consistent_both_ways() -> None:
    for cmt_type, attribute_type in ATTRIBUTE_TYPE_BY_CMT.items():
        back = cmt_type_for(attribute_type)
        expected = {"integer": "number", "memo": "string", "customer": "entityreference"}.get(cmt_type, cmt_type)
        assert back == expected, (cmt_type, attribute_type, back)
    assert cmt_type_for("Customer") == "entityreference"
    assert cmt_type_for("EntityName") == "string"
    assert cmt_type_for("Virtual") is None
    assert cmt_type_for("CalendarRules") is None


def test_html_decode_leaves_incomplete_references_alone() -> None:
    assert html_decode("AT&T &copy 5 &amp") == "AT&T &copy 5 &amp"
    assert html_decode("&#x41;&#66;&eacute;") == "ABé"


@given(st.text())
def test_html_layer_round_trips_any_text(text: str) -> None:
    assert html_decode(html_encode(text)) == text


@given(
    st.one_of(
        st.tuples(st.just("string"), st.text().filter(xml_compatible)),
        st.tuples(st.just("number"), st.integers(-(2**31), 2**31 - 1)),
        st.tuples(st.just("bigint"), st.integers(-(2**63), 2**63 - 1)),
        st.tuples(st.just("bool"), st.booleans()),
        st.tuples(st.just("float"), st.floats(allow_nan=False, allow_infinity=False)),
        st.tuples(st.just("money"), st.floats(min_value=-1e11, max_value=1e11)),
        st.tuples(st.just("guid"), st.uuids().map(str)),
        st.tuples(
            st.just("datetime"),
            st.datetimes(min_value=datetime(1753, 1, 1), max_value=datetime(9999, 12, 31)).map(
                lambda d: d.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
        ),
        st.tuples(st.just("datetime"), st.dates(min_value=date(1753, 1, 1)).map(lambda d: d.isoformat())),
        st.tuples(
            st.just("optionsetvaluecollection"),
            st.lists(st.integers(0, 10**9), min_size=1, max_size=5).map(lambda v: ",".join(map(str, v))),
        ),
    )
)
def test_every_web_api_value_survives_cmt_text(pair: tuple[str, object]) -> None:
    cmt_type, value = pair
    back = decode_value(cmt_type, encode_value(cmt_type, value))
    if isinstance(value, float) and value == 0.0:
        assert back == 0.0
    else:
        assert back == value


@pytest.mark.parametrize("text", ["bell\x07", "nul\x00", "lone \ud800 surrogate", "form\x0cfeed"])
def test_text_xml_cannot_hold_is_refused_not_corrupted(text: str) -> None:
    with pytest.raises(ValueError, match=r"XML 1\.0"):
        encode_value("string", text)
