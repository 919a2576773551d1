"""CMT field types and values: the exact mapping to and from Dataverse attribute types and Web API JSON.

The Configuration Migration Tool writes every value as text in a ``value`` attribute of ``data.xml``; the
text encoding depends on the field's ``type`` in ``data_schema.xml``:

============================  ===========================  ======================================
CMT type                      AttributeType                 CMT text  ↔  Web API JSON value
============================  ===========================  ======================================
``string``                    String / Memo / EntityName   HTML-encoded text  ↔  str
``guid``                      Uniqueidentifier             GUID  ↔  lower-case GUID str
``number`` (``integer``)      Integer                      ``42``  ↔  int
``bigint``                    BigInt                       ``42``  ↔  int
``bool``                      Boolean                      ``True``/``False``  ↔  bool
``datetime``                  DateTime                     ``…T19:06:20.0000000Z``  ↔  ``…T19:06:20Z``
                                                           ``2025-06-10T00:00:00.0000000``  ↔  ``2025-06-10``
``decimal`` / ``money``       Decimal / Money              ``4325.0000000000``  ↔  float
``float``                     Double                       ``2223.45``  ↔  float
``optionsetvalue``            Picklist                     ``2``  ↔  int
``state`` / ``status``        State / Status               ``0``  ↔  int
``optionsetvaluecollection``  MultiSelectPicklist          ``[-1,1,2,-1]``  ↔  ``"1,2"``
``entityreference``           Lookup / Customer            GUID + ``lookupentity``  ↔  ``_x_value`` + annotation
``owner``                     Owner                        GUID + ``lookupentity``  ↔  ``_x_value`` + annotation
``partylist``                 PartyList                    nested party records: not carried
``imagedata`` / ``filedata``  Image / File                 base64 / ``files/<id>.bin``: not carried
============================  ===========================  ======================================

String values are HTML-encoded by CMT (``&lt;``, ``&#39;``, ``&#233;`` for U+00A0..U+00FF) *before* the
XML escaping of the attribute, so a ``<`` appears in the file as ``&amp;lt;``. :func:`html_encode` and
:func:`html_decode` reproduce that layer exactly. Pure functions; errors are ``ValueError``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from html import unescape
from typing import Any

__all__ = [
    "ATTRIBUTE_TYPE_BY_CMT",
    "CARRIED_TYPES",
    "LOOKUP_CMT_TYPES",
    "NOT_CARRIED_TYPES",
    "cmt_type_for",
    "decode_value",
    "encode_value",
    "html_decode",
    "html_encode",
    "normalise_guid",
    "xml_compatible",
]

ATTRIBUTE_TYPE_BY_CMT: dict[str, str] = {
    "string": "String",
    "memo": "Memo",
    "guid": "Uniqueidentifier",
    "number": "Integer",
    "integer": "Integer",
    "bigint": "BigInt",
    "bool": "Boolean",
    "datetime": "DateTime",
    "decimal": "Decimal",
    "float": "Double",
    "money": "Money",
    "optionsetvalue": "Picklist",
    "optionsetvaluecollection": "MultiSelectPicklist",
    "entityreference": "Lookup",
    "customer": "Customer",
    "owner": "Owner",
    "partylist": "PartyList",
    "state": "State",
    "status": "Status",
    "imagedata": "Image",
    "filedata": "File",
}
"""CMT ``type`` (lower-cased; ``integer``/``memo``/``customer`` are other writers' dialects) → AttributeType."""

_CMT_BY_ATTRIBUTE_TYPE: dict[str, str] = {
    "String": "string",
    "Memo": "string",
    "EntityName": "string",
    "Uniqueidentifier": "guid",
    "Integer": "number",
    "BigInt": "bigint",
    "Boolean": "bool",
    "DateTime": "datetime",
    "Decimal": "decimal",
    "Double": "float",
    "Money": "money",
    "Picklist": "optionsetvalue",
    "MultiSelectPicklist": "optionsetvaluecollection",
    "Lookup": "entityreference",
    "Customer": "entityreference",
    "Owner": "owner",
    "PartyList": "partylist",
    "State": "state",
    "Status": "status",
    "Image": "imagedata",
    "File": "filedata",
}

LOOKUP_CMT_TYPES = frozenset({"entityreference", "owner", "customer"})
NOT_CARRIED_TYPES = frozenset({"partylist", "imagedata", "filedata"})
"""Types whose values seeder does not carry between a package and a snapshot (each value is reported)."""
CARRIED_TYPES = frozenset(ATTRIBUTE_TYPE_BY_CMT) - NOT_CARRIED_TYPES - LOOKUP_CMT_TYPES


def cmt_type_for(attribute_type: str) -> str | None:
    """The CMT ``type`` for a Dataverse AttributeType; ``None`` where CMT has none (Virtual, CalendarRules...)."""
    return _CMT_BY_ATTRIBUTE_TYPE.get(attribute_type)


# -- the HTML layer of string values ----------------------------------------------------------------------

_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_compatible(text: str) -> bool:
    """True when XML 1.0 can hold ``text`` (no control characters other than tab/CR/LF, no lone surrogates)."""
    return _NOT_XML.search(text) is None


def html_encode(text: str) -> str:
    """Encode like .NET ``HttpUtility.HtmlEncode``: ``& < > " '`` and U+00A0..U+00FF as ``&#N;``."""
    out: list[str] = []
    for ch in text:
        escaped = _HTML_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif 0xA0 <= ord(ch) <= 0xFF:
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def html_decode(text: str) -> str:
    """Decode ``&name;`` / ``&#N;`` / ``&#xH;`` references (only complete ones, with the semicolon)."""
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: unescape(m.group(0)), text)


# -- scalar values ----------------------------------------------------------------------------------------

_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?$"
)
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")


def normalise_guid(text: str) -> str:
    """A GUID in the Web API's lower-case form; ``ValueError`` when ``text`` is not one."""
    m = _GUID.match(text.strip())
    if not m:
        raise ValueError(f"not a GUID: {text!r}")
    return m.group(1).lower()


def _decode_datetime(text: str) -> str:
    m = _DATETIME.match(text.strip())
    if not m:
        raise ValueError(f"not a date/time: {text!r}")
    day, clock, fraction, zone = m.groups()
    datetime.fromisoformat(day)  # validates the calendar date
    if clock is None:
        return day
    if len(clock) == 5:
        clock += ":00"
    fraction = (fraction or "").rstrip("0")
    if zone is None and clock == "00:00:00" and not fraction:
        return day  # a date-only column: CMT writes it as local midnight without an offset
    return f"{day}T{clock}{'.' + fraction if fraction else ''}{zone or ''}"


def _encode_datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a date/time: {value!r}")
    m = _DATETIME.match(value.strip())
    if not m:
        raise ValueError(f"not a date/time: {value!r}")
    day, clock, fraction, zone = m.groups()
    if clock is None:
        return f"{day}T00:00:00.0000000"
    if len(clock) == 5:
        clock += ":00"
    return f"{day}T{clock}.{(fraction or '').ljust(7, '0')}{zone or ''}"


def _decode_number(text: str) -> float:
    try:
        exact = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not exact.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    value = float(exact)
    if Decimal(repr(value)) != exact:
        raise ValueError(f"{text!r} has more precision than a JSON double carries")
    return value


def _encode_number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")


def _decode_int(text: str) -> int:
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?\d+", stripped):
        raise ValueError(f"not an integer: {text!r}")
    return int(stripped)


def _encode_int(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return str(value)


def _decode_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _decode_choices(text: str) -> str:
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    parts = [p.strip() for p in inner.split(",") if p.strip()]
    values = [_decode_int(p) for p in parts]
    return ",".join(str(v) for v in values if v != -1)


def _encode_choices(value: Any) -> str:
    if isinstance(value, list):
        items = [_encode_int(v) for v in value]
    elif isinstance(value, str):
        items = [str(_decode_int(p)) for p in value.split(",") if p.strip()]
    else:
        raise ValueError(f"not a multi-select choice value: {value!r}")
    return "[" + ",".join(["-1", *items, "-1"]) + "]"


def decode_value(cmt_type: str, text: str) -> Any:
    """CMT ``value`` text of a non-lookup field → the Web API JSON value. ``ValueError`` when unparsable.

    Lookup, party-list, image and file fields are not scalar values; passing their types is an error.
    """
    kind = cmt_type.lower()
    if kind in ("string", "memo"):
        return html_decode(text)
    if kind == "guid":
        return normalise_guid(text)
    if kind in ("number", "integer", "bigint", "optionsetvalue", "state", "status"):
        return _decode_int(text)
    if kind == "bool":
        return _decode_bool(text)
    if kind == "datetime":
        return _decode_datetime(text)
    if kind in ("decimal", "money", "float"):
        return _decode_number(text)
    if kind == "optionsetvaluecollection":
        return _decode_choices(text)
    raise ValueError(f"CMT type {cmt_type!r} has no scalar value mapping")


def encode_value(cmt_type: str, value: Any) -> str:
    """A Web API JSON value → the CMT ``value`` text for ``cmt_type``. ``ValueError`` when it does not fit."""
    kind = cmt_type.lower()
    if kind in ("string", "memo"):
        if not isinstance(value, str):
            raise ValueError(f"not a string: {value!r}")
        if not xml_compatible(value):
            raise ValueError("text holds characters XML 1.0 cannot carry (control characters or lone surrogates)")
        return html_encode(value)
    if kind == "guid":
        if not isinstance(value, str):
            raise ValueError(f"not a GUID: {value!r}")
        return normalise_guid(value)
    if kind in ("number", "integer", "bigint", "optionsetvalue", "state", "status"):
        return _encode_int(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"not a boolean: {value!r}")
        return "True" if value else "False"
    if kind == "datetime":
        return _encode_datetime(value)
    if kind in ("decimal", "money", "float"):
        return _encode_number(value)
    if kind == "optionsetvaluecollection":
        return _encode_choices(value)
    raise ValueError(f"CMT type {cmt_type!r} has no scalar value mapping")
