"""Column maskers: one small class per masker kind, each deterministic under the masking key.

Every output derives from ``HMAC-SHA256(key, value_class ␟ normalised value)`` (see :mod:`.keys`), so
equal inputs of one class give equal outputs in any table, record or run. Format-preserving digits use
a keyed Feistel network over decimal strings (FF1-style), which is a bijection for every length: distinct
inputs of the same length can never collide.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from hashlib import blake2b
from typing import Any

from seeder.masking.fake import FakePools
from seeder.masking.keys import Keyed
from seeder.masking.rules import (
    DateShiftSpec,
    DigitsSpec,
    EmailSpec,
    FakeSpec,
    HashSpec,
    MaskerSpec,
    RedactSpec,
    TemplateSpec,
)

__all__ = [
    "ColumnMasker",
    "DigitCipher",
    "EmailMasker",
    "RecordContext",
    "compile_masker",
    "normalise",
]

_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_DIGIT_RUN = re.compile(r"\d+")
"""Runs of digits of any script (ASCII, fullwidth, Arabic-Indic ...): all are masked, and written in ASCII."""
_NON_DIGITS = re.compile(r"\D+")
_TEMPLATE_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?\}")


def normalise(value_class: str, text: str) -> str:
    """The form of ``text`` that is hashed: digits only for digit classes, else case- and space-folded."""
    if value_class in ("digits", "phone"):
        return _NON_DIGITS.sub("", text)
    return " ".join(text.split()).casefold()


@dataclass
class RecordContext:
    """What record-level maskers see: the record's id, its masked values so far, and original→masked pairs."""

    record_id: str
    original: Mapping[str, Any]
    masked: dict[str, Any] = field(default_factory=dict)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    kinds: list[tuple[str, str, str]] = field(default_factory=list)


class ColumnMasker:
    """Base: ``mask(value, ctx)`` → masked value. ``phase`` 0 runs first, 1 (templates), 2 (free text) last."""

    kind = "keep"
    phase = 0
    value_class = "keep"
    replaces_text = False
    """True when the output is a substitute for the value (recorded for record-aware free-text replacement)."""

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        return value


class NullMasker(ColumnMasker):
    kind = "null"

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        return None


class RedactMasker(ColumnMasker):
    kind = "redact"

    def __init__(self, spec: RedactSpec) -> None:
        self.text = spec.text

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        return None if value is None else self.text


class FakeMasker(ColumnMasker):
    kind = "fake"
    replaces_text = True

    def __init__(self, spec: FakeSpec, keyed: Keyed, pools: FakePools) -> None:
        self.pool = pools.get(spec.provider, spec.locale)
        self.value_class = spec.value_class or spec.provider
        self.keyed = keyed

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        if not isinstance(value, str):
            return value if value is None or isinstance(value, bool) else None
        if not value.strip():
            return value
        norm = normalise(self.value_class, value)
        d = self.keyed.digest(self.value_class, norm)
        index = int.from_bytes(d[:8], "big") % len(self.pool)
        fake = self.pool[index]
        if normalise(self.value_class, fake) == norm:  # never hand back the original value itself
            fake = self.pool[(index + 1) % len(self.pool)]
        return fake


class HashMasker(ColumnMasker):
    kind = "hash"
    replaces_text = True

    def __init__(self, spec: HashSpec, keyed: Keyed) -> None:
        self.value_class = spec.value_class or "hash"
        self.length, self.prefix, self.keyed = spec.length, spec.prefix, keyed

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        if value is None or isinstance(value, bool):
            return value
        text = value if isinstance(value, str) else str(value)
        d = self.keyed.digest(self.value_class, normalise(self.value_class, text))
        return self.prefix + d.hex()[: self.length]


class DigitCipher:
    """A keyed bijection on decimal strings of each length (Feistel, 8 rounds, FF1-style split).

    The round function is keyed BLAKE2b under a subkey derived from the masking key with HMAC-SHA256
    (three times cheaper per round than HMAC; eight rounds run per value).
    """

    ROUNDS = 8
    _BLOCK = 36

    CACHE = 1 << 16
    """Values remembered per cipher: masking is deterministic, and the same phone number turns up in a
    contact, its notes and its e-mails; the bound keeps memory flat."""

    def __init__(self, keyed: Keyed, value_class: str) -> None:
        self._key = keyed.subkey("digits:" + value_class)
        self._round = blake2b(key=self._key, digest_size=16)  # keyed once; each round copies it
        subkeyed = Keyed(self._key)
        perm = sorted("0123456789", key=lambda c: subkeyed.digest("single", c))
        self._single = {str(i): perm[i] for i in range(10)}
        self.encrypt = lru_cache(maxsize=self.CACHE)(self._encrypt)  # type: ignore[method-assign]

    def encrypt(self, digits: str) -> str:
        """The masked digits of ``digits`` (same length, a bijection for each length)."""
        return self._encrypt(digits)

    def _encrypt(self, digits: str) -> str:
        n = len(digits)
        if n == 0:
            return digits
        if n == 1:
            return self._single[digits]
        if n > self._BLOCK:
            return "".join(
                self._feistel(digits[i : i + self._BLOCK], f"{n}.{i}") for i in range(0, n, self._BLOCK)
            )
        return self._feistel(digits, str(n))

    def _feistel(self, digits: str, tweak: str) -> str:
        n = len(digits)
        if n == 1:
            return self._single[digits]
        u = n // 2
        v = n - u
        a, b = int(digits[:u]), int(digits[u:])
        prefix = tweak.encode() + b"|"
        mod_u, mod_v = 10**u, 10**v
        for i in range(self.ROUNDS):
            even = i % 2 == 0
            h = self._round.copy()
            h.update(prefix + bytes((i,)) + str(b).zfill(v if even else u).encode())
            f = int.from_bytes(h.digest(), "big")
            a, b = b, (a + f) % (mod_u if even else mod_v)
        # after an even number of rounds, a has width u and b width v again
        return str(a).zfill(u) + str(b).zfill(v)


class DigitsMasker(ColumnMasker):
    """Replaces digits through :class:`DigitCipher`; every other character (layout, letters) is kept."""

    kind = "digits"
    replaces_text = True

    def __init__(self, spec: DigitsSpec, keyed: Keyed) -> None:
        self.value_class = spec.value_class or "digits"
        self.keep_leading = spec.keep_leading
        self.cipher = DigitCipher(keyed, self.value_class)

    def mask_text(self, text: str) -> str:
        digits = "".join(str(int(c)) for run in _DIGIT_RUN.findall(text) for c in run)
        kept, rest = digits[: self.keep_leading], digits[self.keep_leading :]
        if not rest:
            return text
        new = kept + self.cipher.encrypt(rest)
        pos = 0

        def run(match: re.Match[str]) -> str:  # one call per run of digits, not per character
            nonlocal pos
            start, pos = pos, pos + len(match.group())
            return new[start:pos]

        return _DIGIT_RUN.sub(run, text)

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, int) and not isinstance(value, bool):
            sign = -1 if value < 0 else 1
            return sign * int(self.mask_text(str(abs(value))))
        return value if value is None or isinstance(value, bool) else None


class EmailMasker(ColumnMasker):
    """``first.last.tag@domain`` from pools; the 5-character keyed tag keeps distinct inputs apart."""

    kind = "email"
    replaces_text = True

    def __init__(self, spec: EmailSpec, keyed: Keyed, pools: FakePools) -> None:
        self.value_class = spec.value_class or "email"
        self.domain = spec.domain
        self.keyed = keyed
        self.first = pools.get("first_name", "en_US")
        self.last = pools.get("last_name", "en_US")
        self.domains = pools.get("domain_name", "en_US") if spec.domain == "fake" else ()

    def mask_text(self, text: str) -> str:
        norm = normalise("email", text)
        d = self.keyed.digest(self.value_class, norm)
        first = self.first[int.from_bytes(d[0:4], "big") % len(self.first)]
        last = self.last[int.from_bytes(d[4:8], "big") % len(self.last)]
        tag_int = int.from_bytes(d[8:12], "big")
        tag = "".join(_B32[(tag_int >> (5 * i)) & 31] for i in range(5))
        local = f"{first}.{last}.{tag}".lower().replace(" ", "").replace("'", "")
        _, at, original_domain = norm.rpartition("@")
        if self.domain == "keep":
            domain = original_domain if at and original_domain else "example.com"
        elif self.domain == "fake":
            dd = self.keyed.digest("email-domain", original_domain)
            domain = self.domains[int.from_bytes(dd[:8], "big") % len(self.domains)]
        else:
            domain = self.domain
        return f"{local}@{domain}"

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        if not isinstance(value, str):
            return value if value is None or isinstance(value, bool) else None
        return self.mask_text(value) if value.strip() else value


class DateShiftMasker(ColumnMasker):
    """Adds one keyed whole-day offset per record (never 0) to every date of that record; time of day kept."""

    kind = "date-shift"

    def __init__(self, spec: DateShiftSpec, keyed: Keyed) -> None:
        self.max_days, self.keyed = spec.max_days, keyed
        self.value_class = spec.value_class or "date-shift"

    def offset(self, record_id: str) -> int:
        d = self.keyed.digest(self.value_class, f"{self.max_days}|{record_id.lower()}")
        magnitude = int.from_bytes(d[:8], "big") % self.max_days + 1
        return magnitude if d[8] & 1 else -magnitude

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        if not isinstance(value, str) or len(value) < 10:
            return value if value is None else None
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return None
        try:
            shifted = day + timedelta(days=self.offset(ctx.record_id))
        except OverflowError:
            shifted = day
        return shifted.isoformat() + value[10:]


class TemplateMasker(ColumnMasker):
    """``{column}`` = the record's masked value of ``column``; ``{hash:N}``/``{digits:N}`` derive from the value."""

    kind = "template"
    phase = 1
    replaces_text = True

    def __init__(self, spec: TemplateSpec, keyed: Keyed) -> None:
        self.template, self.keyed = spec.template, keyed
        self.value_class = spec.value_class or "template"

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        d = self.keyed.digest(self.value_class, normalise(self.value_class, text))

        def field_value(m: re.Match[str]) -> str:
            token = m.group(0)
            if token in ("{{", "}}"):
                return token[0]
            name, width = m.group(1), int(m.group(2)) if m.group(2) else None
            if name == "hash":
                return d.hex()[: width or 16]
            if name == "digits":
                return str(int.from_bytes(d, "big")).zfill(78)[-(width or 8) :]
            masked = ctx.masked.get(name, ctx.original.get(name))
            return "" if masked is None else str(masked)[: width or None]

        return " ".join(_TEMPLATE_FIELD.sub(field_value, self.template).split())


def compile_masker(
    spec: MaskerSpec,
    keyed: Keyed,
    pools: FakePools,
    scrub_factory: Callable[[MaskerSpec], ColumnMasker],
) -> ColumnMasker:
    """The column masker for one rule's spec (shuffle and scrub are built by the engine's factory)."""
    if spec.masker == "keep":
        return ColumnMasker()
    if spec.masker == "null":
        return NullMasker()
    if isinstance(spec, RedactSpec):
        return RedactMasker(spec)
    if isinstance(spec, FakeSpec):
        return FakeMasker(spec, keyed, pools)
    if isinstance(spec, HashSpec):
        return HashMasker(spec, keyed)
    if isinstance(spec, DigitsSpec):
        return DigitsMasker(spec, keyed)
    if isinstance(spec, EmailSpec):
        return EmailMasker(spec, keyed, pools)
    if isinstance(spec, DateShiftSpec):
        return DateShiftMasker(spec, keyed)
    if isinstance(spec, TemplateSpec):
        return TemplateMasker(spec, keyed)
    return scrub_factory(spec)
