"""Masking rule sets: the YAML format, its validation (pydantic) and column → rule resolution.

A rule set names, per table and column (``fnmatch`` globs allowed, e.g. ``"*"`` tables or
``address*_line*`` columns), the masker to apply::

    name: default
    locale: en_US
    tables:
      contact:
        firstname: fake:first_name
        fullname: {masker: template, template: "{firstname} {lastname}"}
        emailaddress1: {masker: email, domain: example.com, unique: true}
      "*":
        "address*_line*": fake:street_address

Files are read with ruamel.yaml (YAML 1.2: ``NO`` stays a string) and validation errors carry
``file:line``. :func:`rules_json_schema` is the JSON Schema shipped as ``masking-rules.schema.json``.
Resolution: a rule under the exact table name beats one under a table glob; within that, an exact column
name beats a glob; among globs the first in the file wins.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from seeder.errors import MaskingError

__all__ = [
    "DETECTORS",
    "ColumnRule",
    "DateShiftSpec",
    "DigitsSpec",
    "EmailSpec",
    "FakeSpec",
    "HashSpec",
    "KeepSpec",
    "MaskerSpec",
    "NullSpec",
    "RedactSpec",
    "RuleFile",
    "RuleSet",
    "ScrubSpec",
    "ShuffleSpec",
    "TemplateSpec",
    "load_rules",
    "parse_rules",
    "rules_json_schema",
    "rules_json_schema_text",
]

Detector = Literal["email", "phone", "iban", "card"]
DETECTORS: tuple[Detector, ...] = ("email", "phone", "iban", "card")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    unique: bool = Field(False, description="Outputs must stay unique within the column (alternate keys).")
    value_class: str | None = Field(
        None,
        alias="class",
        description="Values of the same class mask identically across tables (default: per masker).",
    )


class KeepSpec(_Spec):
    """Copy the value unchanged."""

    masker: Literal["keep"]


class NullSpec(_Spec):
    """Replace the value with null."""

    masker: Literal["null"]


class RedactSpec(_Spec):
    """Replace the value with a fixed text."""

    masker: Literal["redact"]
    text: str = "[redacted]"


class FakeSpec(_Spec):
    """A realistic fake value from a Faker provider's vocabulary, chosen by the keyed digest."""

    masker: Literal["fake"]
    provider: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    locale: str | None = Field(None, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")


class HashSpec(_Spec):
    """Hex of the keyed digest (a pseudonymous, joinable token)."""

    masker: Literal["hash"]
    length: int = Field(16, ge=4, le=64)
    prefix: str = ""


class TemplateSpec(_Spec):
    """A text built from placeholders: the record's masked columns ``{firstname}``, ``{hash:8}``, ``{digits:6}``."""

    masker: Literal["template"]
    template: str = Field(min_length=1)


class DateShiftSpec(_Spec):
    """Shift dates by one keyed offset per record (order within a record is kept)."""

    masker: Literal["date-shift"]
    max_days: int = Field(365, gt=0, le=36500)


class DigitsSpec(_Spec):
    """Format-preserving: every digit replaced through a keyed permutation; layout and length kept."""

    masker: Literal["digits"]
    keep_leading: int = Field(0, ge=0, le=8, description="Leading digits kept as they are (country codes).")


class EmailSpec(_Spec):
    """A fake mailbox; ``domain`` is ``keep``, ``fake`` or a fixed domain such as ``example.com``."""

    masker: Literal["email"]
    domain: str = Field("example.com", pattern=r"^(keep|fake|[A-Za-z0-9.-]+\.[A-Za-z]{2,})$")


class ShuffleSpec(_Spec):
    """Values permuted among the column's records (deterministic under the key)."""

    masker: Literal["shuffle"]


class ScrubSpec(_Spec):
    """Free text: detected e-mails, phones, IBANs, card numbers and the record's own values replaced."""

    masker: Literal["scrub"]
    detectors: tuple[Detector, ...] = DETECTORS
    record_aware: bool = True


_SHORTHAND_ARG = {"fake": "provider", "email": "domain", "redact": "text", "template": "template"}


def _expand_shorthand(value: Any) -> Any:
    """``"fake:first_name"`` → ``{"masker": "fake", "provider": "first_name"}``; ``"keep"`` → ``{"masker": "keep"}``."""
    if isinstance(value, str):
        name, sep, arg = value.partition(":")
        if sep and name in _SHORTHAND_ARG:
            return {"masker": name, _SHORTHAND_ARG[name]: arg}
        return {"masker": value}
    return value


_SpecUnion = Annotated[
    KeepSpec | NullSpec | RedactSpec | FakeSpec | HashSpec | TemplateSpec | DateShiftSpec | DigitsSpec
    | EmailSpec | ShuffleSpec | ScrubSpec,
    Field(discriminator="masker"),
]
Shorthand = Annotated[
    str,
    StringConstraints(
        pattern=r"^(keep|null|redact|hash|digits|date-shift|shuffle|scrub|email|"
        r"fake:[a-z][a-z0-9_]*|email:(keep|fake|[A-Za-z0-9.-]+)|redact:.*|template:.+)$"
    ),
]
"""Short forms: ``keep``, ``null``, ``digits``, ``scrub``, ``fake:first_name``, ``email:keep``, ..."""

MaskerSpec = Annotated[
    _SpecUnion,
    BeforeValidator(_expand_shorthand, json_schema_input_type=Shorthand | _SpecUnion),
]


class RuleFile(BaseModel):
    """A masking rule set file (``masking_rules/*.yaml``)."""

    model_config = ConfigDict(extra="forbid", title="seeder masking rules")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    version: Literal[1] = 1
    description: str = ""
    locale: str = Field("en_US", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    tables: dict[str, dict[str, MaskerSpec]] = Field(
        description="table name or glob → column name or glob → masker ('keep', 'fake:first_name', {...})"
    )


@dataclass(frozen=True)
class ColumnRule:
    """One ``table.column`` pattern with its masker, and where it was written."""

    table: str
    column: str
    spec: MaskerSpec
    line: int | None = None

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class RuleSet:
    """A loaded rule set. ``sha256`` is the hash of the file's bytes (recorded in masked manifests)."""

    name: str
    locale: str
    rules: tuple[ColumnRule, ...]
    sha256: str
    source: str = "<memory>"

    def resolve(self, table: str, column: str) -> ColumnRule | None:
        """The rule for ``table.column``, or None when no rule covers it."""
        best: tuple[int, int, int] | None = None
        found: ColumnRule | None = None
        for order, rule in enumerate(self.rules):
            if not fnmatchcase(table, rule.table) or not fnmatchcase(column, rule.column):
                continue
            rank = (0 if rule.table == table else 1, 0 if rule.column == column else 1, order)
            if best is None or rank < best:
                best, found = rank, rule
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "locale": self.locale,
            "sha256": self.sha256,
            "source": self.source,
            "rules": [
                {"table": r.table, "column": r.column, "masker": r.spec.masker, "line": r.line}
                for r in self.rules
            ],
        }


def rules_json_schema() -> dict[str, Any]:
    """The JSON Schema of rule files (checked in as ``masking_rules/masking-rules.schema.json``)."""
    schema = RuleFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def rules_json_schema_text() -> str:
    """The checked-in text of ``masking-rules.schema.json`` (sorted keys, two-space indent)."""
    import json

    return json.dumps(rules_json_schema(), indent=2, sort_keys=True) + "\n"


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest ``loc`` element found in ruamel's round-trip data."""
    line: int | None = None
    node = data
    for part in loc:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and part in node:
            if lc is not None:
                with contextlib.suppress(KeyError, TypeError, AttributeError):
                    line = lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if lc is not None:
                with contextlib.suppress(KeyError, TypeError, AttributeError):
                    line = lc.item(part)[0] + 1
            node = node[part]
        else:
            continue  # pydantic adds union tags ('fake', 'function-before[...]') that are not in the data
    return line


def parse_rules(text: str, source: str = "<memory>") -> RuleSet:
    """Parse and validate rule-set YAML text; errors read ``source:line: where: what``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise MaskingError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise MaskingError(f"{source}: a rule set must be a mapping with 'name' and 'tables'")
    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(data, loc)
            path = ".".join(str(p) for p in loc if not (isinstance(p, str) and "[" in p))
            lines.append(f"{source}:{line if line is not None else '?'}: {path}: {err['msg']}")
        raise MaskingError("invalid masking rules:\n" + "\n".join(lines), problems=lines) from exc
    rules: list[ColumnRule] = []
    for table, columns in parsed.tables.items():
        for column, spec in columns.items():
            rules.append(ColumnRule(table, column, spec, _line_of(data, ("tables", table, column))))
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RuleSet(name=parsed.name, locale=parsed.locale, rules=tuple(rules), sha256=sha, source=source)


def load_rules(path: Path) -> RuleSet:
    """Load a rule-set file (``MaskingError`` with ``file:line`` on any problem)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MaskingError(f"cannot read masking rules {path}: {exc.strerror}") from exc
    return parse_rules(text, source=str(path))
