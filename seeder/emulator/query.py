"""Collection queries as SQL: ``$filter`` compiled to parameterised SQL, ``$orderby``, keyset paging.

Every value from the URL is a bound parameter (a quote or ``%`` in a value is data, never SQL); column
names come only from the schema allow-list. Paging is keyset-based: the ``$skiptoken`` cookie carries the
last row's sort values and primary id, so rows written between pages never shift or repeat a page (the
real service pages by primary id in its paging cookie the same way).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from seeder.model import Column
from seeder.odata import Call, Compare, In, Literal, Logical, Node, Not, Prop, normalize_datetime

from .errors import ApiError, bad_property, bad_syntax
from .store import StoredTable

__all__ = ["OrderBy", "Query", "compile_filter", "decode_skiptoken", "encode_skiptoken", "parse_orderby"]

_SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _q(name: str) -> str:
    return f'"{name}"'


def resolve_column(st: StoredTable, name: str) -> Column:
    """The column a query property names: plain columns by name, lookups only as ``_x_value``."""
    m = re.fullmatch(r"_(\w+)_value", name)
    if m:
        col = st.column(m.group(1))
        if col is not None and col.is_lookup:
            return col
    col = st.column(name)
    if col is not None and not col.is_lookup:
        return col
    raise bad_property(name, st.name)


def _param(col: Column, lit: Literal) -> Any:
    value = lit.value
    if value is None:
        return None
    if col.type == "Boolean":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int | float):
            return int(value)
        raise ApiError(400, "0x80060888", f"A binary operator with incompatible types was detected. Found operand "
                       f"types 'Edm.Boolean' and '{lit.kind}' for column {col.name}.")
    if col.type in ("Integer", "BigInt", "Picklist", "State", "Status"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, "0x80060888", f"The value '{value}' is not valid for {col.name}.") from None
    if col.type in ("Decimal", "Double", "Money"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(400, "0x80060888", f"The value '{value}' is not valid for {col.name}.") from None
    if col.type == "DateTime" and isinstance(value, str):
        try:
            text = normalize_datetime(value)
        except ValueError:
            raise ApiError(400, "0x80060888", f"The value '{value}' is not a valid date.") from None
        return text[:10] if col.format == "DateOnly" else text
    if isinstance(value, bool):
        return int(value)
    return value


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Compiler:
    def __init__(self, st: StoredTable) -> None:
        self.st = st
        self.params: list[Any] = []

    def operand(self, node: Node) -> tuple[str, Column | None]:
        if isinstance(node, Prop):
            if len(node.path) > 1:
                raise ApiError(400, "0x80060888",
                               f"Navigation property paths such as '{node.name}' are not supported in $filter.")
            column = resolve_column(self.st, node.path[0])
            return _q(column.name), column
        if isinstance(node, Call) and node.name in ("tolower", "toupper"):
            inner, col = self.operand(node.args[0])
            return f"{'lower' if node.name == 'tolower' else 'upper'}({inner})", col
        raise ApiError(400, "0x80060888", "A comparison needs a property on one side and a value on the other.")

    def compile(self, node: Node) -> str:
        if isinstance(node, Logical):
            return f"({self.compile(node.left)} {node.op.upper()} {self.compile(node.right)})"
        if isinstance(node, Not):
            return f"(NOT {self.compile(node.operand)})"
        if isinstance(node, Compare):
            left, right, op = node.left, node.right, node.op
            if isinstance(left, Literal) and not isinstance(right, Literal):
                left, right = right, left
                op = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
            if not isinstance(right, Literal):
                raise ApiError(400, "0x80060888", "Comparing two properties is not supported in $filter.")
            expr, col = self.operand(left)
            if right.value is None:
                if op not in ("eq", "ne"):
                    raise ApiError(400, "0x80060888", "null can only be compared with eq or ne.")
                return f"({expr} IS {'NOT ' if op == 'ne' else ''}NULL)"
            self.params.append(_param(col, right) if col else right.value)
            return f"({expr} {_SQL_OPS[op]} ?)"
        if isinstance(node, In):
            expr, col = self.operand(node.prop)
            if not node.values:
                return "(0)" if not node.negate else "(1)"
            for v in node.values:
                self.params.append(_param(col, v) if col else v.value)
            marks = ", ".join("?" for _ in node.values)
            return f"({expr} {'NOT ' if node.negate else ''}IN ({marks}))"
        if isinstance(node, Call) and node.name in ("contains", "startswith", "endswith"):
            expr, _col = self.operand(node.args[0])
            needle = node.args[1]
            if not isinstance(needle, Literal) or not isinstance(needle.value, str):
                raise ApiError(400, "0x80060888", f"{node.name} needs a string value.")
            text = _like_escape(needle.value)
            pattern = {"contains": f"%{text}%", "startswith": f"{text}%", "endswith": f"%{text}"}[node.name]
            self.params.append(pattern)
            return f"({expr} LIKE ? ESCAPE '\\')"
        if isinstance(node, Prop):
            expr, _col = self.operand(node)
            return f"({expr} = 1)"
        raise ApiError(400, "0x80060888", "The $filter expression is not a condition.")


def compile_filter(st: StoredTable, node: Node) -> tuple[str, list[Any]]:
    """``(sql, params)`` for a parsed ``$filter`` on ``st``."""
    comp = _Compiler(st)
    sql = comp.compile(node)
    return sql, comp.params


@dataclass(frozen=True)
class OrderBy:
    column: str
    desc: bool = False


def parse_orderby(st: StoredTable, text: str | None) -> list[OrderBy]:
    """``name asc,createdon desc`` → order terms (validated); the primary id is added last by the query."""
    out: list[OrderBy] = []
    if not text:
        return out
    for part in text.split(","):
        bits = part.split()
        if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise bad_syntax(f"The $orderby term '{part.strip()}' is not valid.")
        col = resolve_column(st, bits[0])
        out.append(OrderBy(col.name, len(bits) == 2 and bits[1].lower() == "desc"))
    return out


def keyset_condition(order: list[OrderBy], last: list[Any]) -> tuple[str, list[Any]]:
    """SQL condition for "rows after ``last``" under ``order`` (SQLite: NULLs first ascending)."""
    ors: list[str] = []
    params: list[Any] = []
    for i, term in enumerate(order):
        parts: list[str] = []
        for j in range(i):
            parts.append(f"{_q(order[j].column)} IS ?")
            params.append(last[j])
        value = last[i]
        if not term.desc:
            if value is None:
                parts.append(f"{_q(term.column)} IS NOT NULL")
            else:
                parts.append(f"{_q(term.column)} > ?")
                params.append(value)
        else:
            if value is None:
                parts.append("0")
            else:
                parts.append(f"({_q(term.column)} < ? OR {_q(term.column)} IS NULL)")
                params.append(value)
        ors.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(ors) + ")", params


def encode_skiptoken(primary_id: str, page: int, last: list[Any], first_id: str, tracking: int | None) -> str:
    """A ``$skiptoken`` in Dataverse's cookie shape; the inner cookie also carries the keyset position."""
    keys = base64.urlsafe_b64encode(json.dumps(last).encode()).decode().rstrip("=")
    inner = (f'<cookie page="{page}"><{primary_id} last="{{{str(last[-1]).upper()}}}" '
             f'first="{{{first_id.upper()}}}" keys="{keys}"'
             + (f' version="{tracking}"' if tracking is not None else "") + " /></cookie>")
    tracking_flag = "True" if tracking is not None else "False"
    return (f'<cookie pagenumber="{page + 1}" pagingcookie="{urllib.parse.quote(urllib.parse.quote(inner))}" '
            f'istracking="{tracking_flag}" />')


def decode_skiptoken(token: str) -> tuple[int, list[Any], int | None]:
    """(page number, keyset position, change-tracking version) from a ``$skiptoken``."""
    m = re.search(r'pagingcookie="([^"]*)"', token)
    page = re.search(r'pagenumber="(\d+)"', token)
    if not m or not page:
        raise bad_syntax("The $skiptoken is not valid.")
    inner = urllib.parse.unquote(urllib.parse.unquote(m.group(1)))
    keys = re.search(r'keys="([A-Za-z0-9_-]*)"', inner)
    version = re.search(r'version="(\d+)"', inner)
    if not keys:
        # A cookie as the service writes it (learn.microsoft.com/power-apps/developer/data-platform/webapi/
        # query/page-results): <cookie page="1"><contactid last="{GUID}" first="{GUID}" /></cookie>. It
        # carries the primary id of the page's last row only, so it continues queries ordered by that id.
        plain = re.search(r'\blast="\{?([0-9A-Fa-f-]{36})\}?"', inner)
        if not plain:
            raise bad_syntax("The $skiptoken is not valid.")
        return int(page.group(1)), [plain.group(1).lower()], int(version.group(1)) if version else None
    try:
        raw = keys.group(1)
        last = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        raise bad_syntax("The $skiptoken is not valid.") from None
    if not isinstance(last, list):
        raise bad_syntax("The $skiptoken is not valid.")
    return int(page.group(1)), last, int(version.group(1)) if version else None


@dataclass
class Query:
    """A compiled collection query: WHERE, ORDER BY and LIMIT over one stored table."""

    st: StoredTable
    where: list[str]
    params: list[Any]
    order: list[OrderBy]

    def sql(self, limit: int | None, after: list[Any] | None = None) -> tuple[str, list[Any]]:
        order = [*self.order, OrderBy(self.st.primary_id)]
        where = list(self.where)
        params = list(self.params)
        if after is not None:
            if len(after) == 1 < len(order) and all(o.column == self.st.primary_id for o in order):
                after = after * len(order)  # a service-written cookie: the last primary id alone
            if len(after) != len(order):
                raise bad_syntax("The $skiptoken does not match this query.")
            cond, extra = keyset_condition(order, after)
            where.append(cond)
            params += extra
        sql = f"SELECT * FROM {_q(self.st.sql_name)}"  # noqa: S608 - identifiers are validated schema names
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY " + ", ".join(f"{_q(o.column)}{' DESC' if o.desc else ''}" for o in order)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql, params

    def count_sql(self) -> tuple[str, list[Any]]:
        sql = f"SELECT COUNT(*) FROM {_q(self.st.sql_name)}"  # noqa: S608 - identifiers are validated schema names
        if self.where:
            sql += " WHERE " + " AND ".join(self.where)
        return sql, list(self.params)

    def position(self, row: dict[str, Any]) -> list[Any]:
        return [row.get(o.column) for o in [*self.order, OrderBy(self.st.primary_id)]]
