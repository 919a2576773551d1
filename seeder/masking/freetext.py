"""Free-text scrubbing: regex detectors (e-mail, phone, IBAN with mod-97, card with Luhn) and
record-aware replacement of the record's own original values by their masked values.

Spans are found on the original text first (the record's own values, then detectors in the order
e-mail, IBAN, card, phone; earlier spans win over overlapping later ones) and replaced in one pass, so a
value inserted by masking is never masked a second time. Detected e-mails and phones go through the same
maskers (same value classes) as structured columns, so a contact's e-mail masks identically in a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from seeder.masking.maskers import ColumnMasker, DigitsMasker, EmailMasker, RecordContext

__all__ = [
    "CARD_RE",
    "EMAIL_RE",
    "IBAN_RE",
    "PHONE_RE",
    "PhraseIndex",
    "ScrubMasker",
    "detect_spans",
    "iban_valid",
    "luhn_valid",
    "scrub_text",
]

_EMAIL = r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
_IBAN = r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
_CARD = (
    r"(?<![\d-])(?:\d{4}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4}(?P=sep)\d{1,7}|\d{4}[ -]?\d{6}[ -]?\d{4,5}|\d{13,19})"
    r"(?![\d-])"
)
_PHONE = (
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,5}"
    r"(?:[ ]?(?:x|ext\.?|#)[ ]?\d{1,6})?(?![\w])"
)
EMAIL_RE = re.compile(_EMAIL)
IBAN_RE = re.compile(_IBAN)
CARD_RE = re.compile(_CARD)
PHONE_RE = re.compile(_PHONE)
_IBAN_START = re.compile(r"[A-Z]{2}\d{2}")
_NUMBER_START = re.compile(r"[+(]?\d+")
"""Where a card or phone number may start: the full patterns are then tried only there."""
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_NON_DIGIT = re.compile(r"\D+")
_EXTENSION = re.compile(r"[ ]?(?:x|ext\.?|#)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15
MIN_RECORD_VALUE = 3


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616 mod-97 check (spaces ignored)."""
    s = text.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def _phone_ok(piece: str) -> bool:
    if _ISO_DATE.match(piece):
        return False
    n = len(_NON_DIGIT.sub("", _EXTENSION.split(piece, 1)[0]))
    return MIN_PHONE_DIGITS <= n <= MAX_PHONE_DIGITS


def _email_spans(text: str) -> list[tuple[int, int, str]]:
    """E-mails, found from each ``@`` (cheaper than scanning every position with the full pattern)."""
    spans: list[tuple[int, int, str]] = []
    at = text.find("@")
    floor = 0
    while at > 0:
        start = at
        while start > floor and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        m = EMAIL_RE.match(text, start) if start < at else None
        if m is not None and m.end() > at:
            spans.append((m.start(), m.end(), "email"))
            floor = m.end()
        at = text.find("@", max(at + 1, floor))
    return spans


def detect_spans(text: str, detectors: Iterable[str]) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of PII found by the detectors, non-overlapping, in text order.

    Priority where candidates overlap: e-mail, IBAN, card, phone. A number that fails its check (card
    Luhn) is tried as a phone.
    """
    wanted = frozenset(detectors)
    digits = len(_NON_DIGIT.sub("", text))
    has_at = "@" in text
    if not has_at and digits < MIN_PHONE_DIGITS:
        return []  # no e-mail, and too few digits for any number detector: the common fast path
    spans = _email_spans(text) if has_at and "email" in wanted else []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in spans)

    if digits >= MIN_PHONE_DIGITS:
        if "iban" in wanted:
            for m in _IBAN_START.finditer(text):
                full = IBAN_RE.match(text, m.start())
                if full is not None and iban_valid(full.group(0)) and free(full.start(), full.end()):
                    spans.append((full.start(), full.end(), "iban"))
        want_card, want_phone = "card" in wanted, "phone" in wanted
        pos = 0
        while want_card or want_phone:
            start = _NUMBER_START.search(text, pos)
            if start is None:
                break
            at = start.start()
            pos = start.end()
            if want_card:
                card = CARD_RE.match(text, at)
                if card is not None and luhn_valid(_NON_DIGIT.sub("", card.group(0))) and free(*card.span()):
                    spans.append((card.start(), card.end(), "card"))
                    pos = card.end()
                    continue
            if want_phone:
                phone = PHONE_RE.match(text, at)
                if phone is not None and _phone_ok(phone.group(0)) and free(*phone.span()):
                    spans.append((phone.start(), phone.end(), "phone"))
                    pos = phone.end()
    spans.sort()
    return spans


def _record_spans(text: str, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Spans of the record's own original values in ``text`` (longest values first, whole words only)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters change length when lowered: use the regex engine
        return _record_spans_regex(text, pairs)
    found = sorted(
        {(orig.lower(), masked) for orig, masked in pairs if len(orig) >= MIN_RECORD_VALUE},
        key=lambda p: (-len(p[0]), p[0]),
    )
    spans: list[tuple[int, int, str]] = []
    for needle, masked in found:
        if len(needle) != len(needle.lower()):
            continue
        start = lowered.find(needle)
        while start >= 0:
            end = start + len(needle)
            boundary = (start == 0 or not _is_word(lowered[start - 1])) and (
                end == len(lowered) or not _is_word(lowered[end])
            )
            if boundary and all(end <= s or start >= e for s, e, _ in spans):
                spans.append((start, end, masked))
            start = lowered.find(needle, start + 1)
    return spans


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _record_spans_regex(text: str, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, int, str]]:
    found = sorted(
        {(orig, masked) for orig, masked in pairs if len(orig) >= MIN_RECORD_VALUE},
        key=lambda p: (-len(p[0]), p[0]),
    )
    spans: list[tuple[int, int, str]] = []
    for orig, masked in found:
        pattern = re.compile(r"(?<!\w)" + re.escape(orig) + r"(?!\w)", re.IGNORECASE)
        for m in pattern.finditer(text):
            if all(m.end() <= s or m.start() >= e for s, e, _ in spans):
                spans.append((m.start(), m.end(), masked))
    return spans


_TOKEN = re.compile(r"[^\W_]+(?:[.'@+&-][^\W_]+)*")
PHRASE_LIMIT = 2_000_000
MAX_PHRASE_WORDS = 8


class PhraseIndex:
    """Known multi-word values (full names, company names, streets) → their masked values.

    Single words are left to record-aware replacement (a first name can be an ordinary word), except
    compounds such as ``Savage-Adkins`` or ``O'Neill``.

    Lookup walks the text's words once and tries phrases only from words that start one, so the cost
    grows with the text, not with the number of phrases. Memory grows with the distinct phrases (capped
    at ``limit``; beyond it only a record's own and related values are replaced).
    """

    def __init__(self, limit: int = PHRASE_LIMIT) -> None:
        self.limit = limit
        self._map: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self._first: set[str] = set()
        self._max_words = 2

    def __len__(self) -> int:
        return len(self._map)

    def add(self, original: str, masked: str, companions: tuple[tuple[str, str], ...] = ()) -> bool:
        """Learn ``original`` → ``masked``; ``companions`` are the same record's single-word pairs (its
        first and last name), replaced in any text where the phrase is found ("Dear Ann, ... Ann Lee")."""
        words = _TOKEN.findall(original.lower())
        compound = len(words) == 1 and not words[0].isalnum()  # "Savage-Adkins", "O'Neill"
        if not (compound or 2 <= len(words) <= MAX_PHRASE_WORDS) or len(self._map) >= self.limit:
            return False
        key = " ".join(words)
        if key in self._map or len(key) < 2 * MIN_RECORD_VALUE:
            return False
        self._map[key] = (masked, companions)
        self._first.add(words[0])
        self._max_words = max(self._max_words, len(words))
        return True

    def spans(self, text: str) -> tuple[list[tuple[int, int, str]], list[tuple[str, str]]]:
        """Non-overlapping ``(start, end, masked)`` of known phrases in ``text`` (longest first per word),
        and the companion pairs of the phrases found."""
        if not self._map:
            return [], []
        lowered = text.lower()
        if len(lowered) != len(text):
            return [], []
        words = _TOKEN.findall(lowered)
        first = self._first
        if first.isdisjoint(words):
            return [], []
        positions: list[tuple[int, int]] = []  # (start, end) of words[0..k], found as needed
        cursor = 0

        def span_of(k: int) -> tuple[int, int]:
            nonlocal cursor
            while len(positions) <= k:  # text between words has no letters or digits: find is exact
                word = words[len(positions)]
                start = lowered.find(word, cursor)
                cursor = start + len(word)
                positions.append((start, cursor))
            return positions[k]

        spans: list[tuple[int, int, str]] = []
        companions: list[tuple[str, str]] = []
        i, count = 0, len(words)
        while i < count:
            if words[i] in first:
                for n in range(min(self._max_words, count - i), 0, -1):
                    hit = self._map.get(" ".join(words[i : i + n]) if n > 1 else words[i])
                    if hit is not None:
                        spans.append((span_of(i)[0], span_of(i + n - 1)[1], hit[0]))
                        companions.extend(hit[1])
                        i += n - 1
                        break
            i += 1
        return spans, companions


def scrub_text(
    text: str,
    *,
    pairs: Sequence[tuple[str, str]],
    detectors: Iterable[str],
    email: EmailMasker,
    phone: DigitsMasker,
    iban: DigitsMasker,
    card: DigitsMasker,
    phrases: PhraseIndex | None = None,
) -> str:
    """``text`` with the record's values and known phrases replaced by their masked values and detected
    PII masked (record values win over phrases, phrases over detectors, where they overlap)."""
    spans = _record_spans(text, pairs) if pairs else []
    if phrases is not None:
        found, companions = phrases.spans(text)
        for start, end, masked in found:
            if all(end <= s or start >= e for s, e, _ in spans):
                spans.append((start, end, masked))
        known = set(pairs)
        companions = [c for c in companions if c not in known]
        if companions:
            for start, end, masked in _record_spans(text, companions):
                if all(end <= s or start >= e for s, e, _ in spans):
                    spans.append((start, end, masked))
    replacements: list[tuple[int, int, str]] = list(spans)
    for start, end, kind in detect_spans(text, detectors):
        if any(not (end <= s or start >= e) for s, e, _ in spans):
            continue
        piece = text[start:end]
        if kind == "email":
            new = email.mask_text(piece)
        elif kind == "iban":
            new = iban.mask_text(piece)
        elif kind == "card":
            new = card.mask_text(piece)
        else:
            new = phone.mask_text(piece)
        replacements.append((start, end, new))
    if not replacements:
        return text
    replacements.sort()
    out: list[str] = []
    pos = 0
    for start, end, new in replacements:
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


class ScrubMasker(ColumnMasker):
    """The ``scrub`` masker (runs after every other column of the record, to know its masked values)."""

    kind = "scrub"
    phase = 2

    def __init__(
        self,
        detectors: Sequence[str],
        record_aware: bool,
        *,
        email: EmailMasker,
        phone: DigitsMasker,
        iban: DigitsMasker,
        card: DigitsMasker,
        phrases: PhraseIndex | None = None,
    ) -> None:
        self.phrases = phrases
        self.detectors = tuple(detectors)
        self.record_aware = record_aware
        self.email, self.phone, self.iban, self.card = email, phone, iban, card
        self.value_class = "scrub"

    def mask(self, value: Any, ctx: RecordContext) -> Any:
        if not isinstance(value, str):
            return value if value is None else None
        return scrub_text(
            value,
            pairs=ctx.pairs if self.record_aware else (),
            detectors=self.detectors,
            email=self.email,
            phone=self.phone,
            iban=self.iban,
            card=self.card,
            phrases=self.phrases if self.record_aware else None,
        )
