"""OData ``$filter`` expressions as Dataverse accepts them: a pure parser and a Python evaluator.

``parse_filter`` turns text into a small AST (:class:`Compare`, :class:`Logical`, :class:`Not`,
:class:`Call`, :class:`In` over :class:`Prop` and :class:`Literal`); ``evaluate`` runs it against a
record in the Web API JSON shape. The emulator compiles the same AST to parameterised SQL, the
snapshot query evaluates it in Python, so both agree on what a filter means.

Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses, ``contains/startswith/endswith``
(plus ``tolower/toupper`` inside them), ``null``, ``true/false``, numbers, ``'strings'`` (``''`` escapes a
quote), bare GUID and ISO date/datetime literals, enum literals (``Microsoft.Dynamics.CRM.X'Value'``),
``x in ('a','b')``, ``Microsoft.Dynamics.CRM.In/NotIn(PropertyName='x',PropertyValues=[...])``,
``Microsoft.Dynamics.CRM.Null/NotNull(PropertyName='x')``, parameter aliases ``@p1`` and property
paths ``a/b`` (used by metadata queries such as ``RequiredLevel/Value``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from seeder.errors import UsageError
from seeder.model import Record

__all__ = [
    "Call",
    "Compare",
    "In",
    "Literal",
    "Logical",
    "Node",
    "Not",
    "Prop",
    "evaluate",
    "normalize_datetime",
    "parse_filter",
    "properties",
]

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
STRING_FUNCTIONS = frozenset({"contains", "startswith", "endswith"})
CASE_FUNCTIONS = frozenset({"tolower", "toupper"})

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?"
_TOKEN = re.compile(
    rf"""(?P<ws>\s+)
      |(?P<string>'(?:[^']|'')*')
      |(?P<guid>{_GUID})(?![\w-])
      |(?P<datetime>{_DATETIME})
      |(?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?![\w:])
      |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
      |(?P<enum>(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*'(?:[^']|'')*')
      |(?P<alias>@\w+)
      |(?P<name>[A-Za-z_$][\w.]*(?:/[A-Za-z_$][\w.]*)*)
      |(?P<punct>[(),\[\]=])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Prop:
    """A property (column) reference; ``path`` has several parts for ``a/b``."""

    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True)
class Literal:
    """A constant. ``kind`` is one of string, number, bool, null, guid, datetime, date."""

    value: Any
    kind: str


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Call:
    """``contains``/``startswith``/``endswith``/``tolower``/``toupper`` applied to ``args``."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class In:
    """``prop in (values)``; ``negate`` for ``Microsoft.Dynamics.CRM.NotIn``."""

    prop: Prop
    values: tuple[Literal, ...]
    negate: bool = False


Node = Prop | Literal | Compare | Logical | Not | Call | In


def normalize_datetime(text: str) -> str:
    """ISO date/datetime text → ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (how the emulator stores DateTime columns)."""
    value = text.strip()
    if len(value) == 10:
        return date.fromisoformat(value).isoformat() + "T00:00:00Z"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Parser:
    def __init__(self, text: str, aliases: Mapping[str, str]) -> None:
        self.text = text
        self.aliases = aliases
        self.tokens = self._tokenize(text)
        self.pos = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str, int]]:
        out: list[tuple[str, str, int]] = []
        i = 0
        while i < len(text):
            m = _TOKEN.match(text, i)
            if m is None or m.end() == i:
                raise UsageError(f"Syntax error at position {i} in $filter expression '{text}'.", position=i)
            kind = m.lastgroup or ""
            if kind != "ws":
                out.append((kind, m.group(), i))
            i = m.end()
        return out

    def error(self, what: str) -> UsageError:
        where = self.tokens[self.pos][2] if self.pos < len(self.tokens) else len(self.text)
        return UsageError(f"Syntax error at position {where} in $filter expression '{self.text}': {what}.",
                          position=where)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise self.error(f"expected '{value}'" if value else "unexpected end")
        self.pos += 1
        return tok

    def word(self) -> str | None:
        tok = self.peek()
        return tok[1] if tok is not None and tok[0] == "name" else None

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek() is not None:
            raise self.error(f"unexpected '{self.tokens[self.pos][1]}'")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.word() == "or":
            self.pos += 1
            node = Logical("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_unary()
        while self.word() == "and":
            self.pos += 1
            node = Logical("and", node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.word() == "not":
            self.pos += 1
            return Not(self.parse_unary())
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_primary()
        op = self.word()
        if op in COMPARISONS:
            self.pos += 1
            return Compare(op, left, self.parse_primary())
        if op == "in":
            self.pos += 1
            if not isinstance(left, Prop):
                raise self.error("'in' needs a property on its left")
            self.take("(")
            values = self.literal_list(")")
            return In(left, values)
        return left

    def literal_list(self, close: str) -> tuple[Literal, ...]:
        values: list[Literal] = []
        while True:
            item = self.parse_primary()
            if not isinstance(item, Literal):
                raise self.error("expected a literal value")
            values.append(item)
            tok = self.take()
            if tok[1] == close:
                return tuple(values)
            if tok[1] != ",":
                raise self.error(f"expected ',' or '{close}'")

    def parse_primary(self) -> Node:
        tok = self.take()
        kind, text = tok[0], tok[1]
        if text == "(":
            node = self.parse_or()
            self.take(")")
            return node
        if kind == "string":
            return Literal(text[1:-1].replace("''", "'"), "string")
        if kind == "guid":
            return Literal(text.lower(), "guid")
        if kind == "datetime":
            return Literal(normalize_datetime(text), "datetime")
        if kind == "date":
            return Literal(text, "date")
        if kind == "number":
            return Literal(float(text) if any(c in text for c in ".eE") else int(text), "number")
        if kind == "enum":
            raw = text[text.index("'") + 1:-1]
            return Literal(raw.replace("''", "'"), "string")
        if kind == "alias":
            if text not in self.aliases:
                raise self.error(f"parameter alias {text} has no value")
            return _Parser(self.aliases[text], {}).parse_primary()
        if kind == "name":
            return self.parse_name(text)
        raise self.error(f"unexpected '{text}'")

    def parse_name(self, text: str) -> Node:
        if text == "null":
            return Literal(None, "null")
        if text in ("true", "false"):
            return Literal(text == "true", "bool")
        nxt = self.peek()
        if nxt is not None and nxt[1] == "(":
            self.pos += 1
            if text.startswith("Microsoft.Dynamics.CRM."):
                return self.parse_crm_function(text.removeprefix("Microsoft.Dynamics.CRM."))
            if text not in STRING_FUNCTIONS | CASE_FUNCTIONS:
                raise self.error(f"unknown function '{text}'")
            args = [self.parse_or()]
            while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.pos += 1
                args.append(self.parse_or())
            self.take(")")
            want = 2 if text in STRING_FUNCTIONS else 1
            if len(args) != want:
                raise self.error(f"{text} takes {want} argument(s)")
            return Call(text, tuple(args))
        return Prop(tuple(text.split("/")))

    def parse_crm_function(self, name: str) -> Node:
        params: dict[str, Any] = {}
        while True:
            key = self.take()[1]
            self.take("=")
            if self.peek() is not None and self.peek()[1] == "[":  # type: ignore[index]
                self.pos += 1
                params[key] = self.literal_list("]")
            else:
                params[key] = self.parse_primary()
            tok = self.take()
            if tok[1] == ")":
                break
            if tok[1] != ",":
                raise self.error("expected ',' or ')'")
        prop_lit = params.get("PropertyName")
        if not isinstance(prop_lit, Literal) or not isinstance(prop_lit.value, str):
            raise self.error(f"Microsoft.Dynamics.CRM.{name} needs PropertyName='...'")
        prop = Prop(tuple(prop_lit.value.split("/")))
        if name in ("In", "NotIn"):
            values = params.get("PropertyValues")
            if not isinstance(values, tuple):
                raise self.error(f"Microsoft.Dynamics.CRM.{name} needs PropertyValues=[...]")
            return In(prop, values, negate=name == "NotIn")
        if name in ("Null", "NotNull"):
            return Compare("eq" if name == "Null" else "ne", prop, Literal(None, "null"))
        raise self.error(f"query function Microsoft.Dynamics.CRM.{name} is not supported")


def parse_filter(text: str, aliases: Mapping[str, str] | None = None) -> Node:
    """Parse a ``$filter`` expression; :class:`UsageError` with ``position`` on bad syntax."""
    if not text.strip():
        raise UsageError("The $filter expression is empty.", position=0)
    return _Parser(text, aliases or {}).parse()


def properties(node: Node) -> set[str]:
    """Every property name the expression reads."""
    if isinstance(node, Prop):
        return {node.name}
    if isinstance(node, Compare | Logical):
        return properties(node.left) | properties(node.right)
    if isinstance(node, Not):
        return properties(node.operand)
    if isinstance(node, Call):
        out: set[str] = set()
        for arg in node.args:
            out |= properties(arg)
        return out
    if isinstance(node, In):
        return {node.prop.name}
    return set()


# -- evaluation ------------------------------------------------------------------------------------------

def _resolve(record: Mapping[str, Any], prop: Prop) -> Any:
    value: Any = record
    for i, part in enumerate(prop.path):
        if not isinstance(value, Mapping):
            return None
        if i == 0 and part not in value and f"_{part}_value" in value:
            part = f"_{part}_value"
        value = value.get(part)
    return value


def _value(node: Node, record: Mapping[str, Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Prop):
        return _resolve(record, node)
    if isinstance(node, Call) and node.name in CASE_FUNCTIONS:
        inner = _value(node.args[0], record)
        if not isinstance(inner, str):
            return None
        return inner.lower() if node.name == "tolower" else inner.upper()
    return _truth(node, record)


_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}")
_GUID_RE = re.compile(f"^{_GUID}$")


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Make two operands comparable: GUIDs case-insensitively, datetimes as UTC text, bools as ints."""
    if isinstance(a, str) and isinstance(b, str):
        if _GUID_RE.match(a) and _GUID_RE.match(b):
            return a.lower(), b.lower()
        if _DATE_PREFIX.match(a) and _DATE_PREFIX.match(b) and ("T" in a or "T" in b):
            try:
                return normalize_datetime(a), normalize_datetime(b)
            except ValueError:
                return a.lower(), b.lower()
        # SQL Server's default collation, which Dataverse uses, compares text case-insensitively.
        return a.lower(), b.lower()
    if isinstance(a, int | float) and isinstance(b, str):
        try:
            return float(a), float(b)
        except ValueError:
            return a, b
    if isinstance(b, int | float) and isinstance(a, str):
        try:
            return float(a), float(b)
        except ValueError:
            return a, b
    if isinstance(a, bool) != isinstance(b, bool) and isinstance(a, int | float) and isinstance(b, int | float):
        return float(a), float(b)
    return a, b


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        if op == "ne":
            return not (a is None and b is None)
        return False
    a, b = _coerce(a, b)
    try:
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError:
        return False


def _truth(node: Node, record: Mapping[str, Any]) -> bool:
    if isinstance(node, Logical):
        if node.op == "and":
            return _truth(node.left, record) and _truth(node.right, record)
        return _truth(node.left, record) or _truth(node.right, record)
    if isinstance(node, Not):
        return not _truth(node.operand, record)
    if isinstance(node, Compare):
        # SQL three-valued logic, as Dataverse evaluates on SQL Server: only `eq null` / `ne null`
        # look at nulls; any other comparison with a null operand is false (so `ne 'x'` skips nulls).
        for this, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(other, Literal) and other.kind == "null" and node.op in ("eq", "ne"):
                is_null = _value(this, record) is None
                return is_null if node.op == "eq" else not is_null
        left, right = _value(node.left, record), _value(node.right, record)
        if left is None or right is None:
            return False
        return _compare(node.op, left, right)
    if isinstance(node, In):
        found = any(_compare("eq", _resolve(record, node.prop), v.value) for v in node.values)
        return found != node.negate
    if isinstance(node, Call) and node.name in STRING_FUNCTIONS:
        hay, needle = _value(node.args[0], record), _value(node.args[1], record)
        if not isinstance(hay, str) or not isinstance(needle, str):
            return False
        # Dataverse string comparisons are case-insensitive (SQL Server default collation).
        hay, needle = hay.lower(), needle.lower()
        if node.name == "contains":
            return needle in hay
        return hay.startswith(needle) if node.name == "startswith" else hay.endswith(needle)
    if isinstance(node, Literal):
        return bool(node.value)
    if isinstance(node, Prop):
        return bool(_resolve(record, node))
    return False


def evaluate(node: Node, record: Record | Mapping[str, Any]) -> bool:
    """Whether ``record`` (Web API shape) satisfies the filter ``node``.

    A bare lookup name (``parentcustomerid``) also reads ``_parentcustomerid_value``. String equality and
    the string functions are case-insensitive, as on Dataverse's default collation.
    """
    return _truth(node, record)
