"""The masking key and the keyed digests every masker derives its output from.

Masking is deterministic and keyed: ``HMAC-SHA256(key, value_class ␟ normalised value)`` drives each
output, so the same e-mail masks identically in ``contact``, ``lead`` and a note, across records and runs.
There is no fallback to a random key: without ``SEEDER_MASK_KEY`` or a key file, masking refuses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path

from seeder.errors import MaskingError

__all__ = ["MASK_KEY_ENV", "MIN_KEY_BYTES", "Keyed", "load_mask_key"]

MASK_KEY_ENV = "SEEDER_MASK_KEY"
MIN_KEY_BYTES = 16
_SEP = b"\x1f"


def _key_bytes(text: str, origin: str) -> bytes:
    raw = text.strip()
    if raw.startswith("hex:"):
        try:
            key = bytes.fromhex(raw[4:])
        except ValueError as exc:
            raise MaskingError(f"the masking key from {origin} is not valid hex") from exc
    else:
        key = raw.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise MaskingError(
            f"the masking key from {origin} is too short ({len(key)} bytes; at least {MIN_KEY_BYTES})",
            hint="generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    return key


def load_mask_key(env: Mapping[str, str], key_file: Path | None = None) -> bytes:
    """The masking key: the contents of ``key_file`` when given, else ``$SEEDER_MASK_KEY``.

    Text keys are used as UTF-8 bytes; ``hex:...`` is decoded. No key → :class:`MaskingError` (never a
    random key: a random key would make masked data unjoinable across runs and hide the omission).
    """
    if key_file is not None:
        try:
            text = key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise MaskingError(f"cannot read the masking key file {key_file}: {exc.strerror}") from exc
        return _key_bytes(text, f"file {key_file}")
    value = env.get(MASK_KEY_ENV)
    if value:
        return _key_bytes(value, MASK_KEY_ENV)
    raise MaskingError(
        "no masking key: masking refuses to run without one",
        hint=f"set {MASK_KEY_ENV} (e.g. from a pipeline secret or Key Vault) or pass --key-file",
    )


class Keyed:
    """HMAC-SHA256 under the masking key, with helpers to turn digests into choices."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not key:
            raise MaskingError("an empty masking key cannot be used")
        self._key = key

    def digest(self, value_class: str, normalised: str) -> bytes:
        """32 bytes of ``HMAC-SHA256(key, value_class ␟ normalised)``."""
        return hmac.digest(self._key, value_class.encode() + _SEP + normalised.encode("utf-8"), "sha256")

    def digest_bytes(self, data: bytes) -> bytes:
        return hmac.digest(self._key, data, "sha256")

    def subkey(self, purpose: str) -> bytes:
        """A key derived for one purpose (e.g. the digit cipher), so purposes never share raw output."""
        return hmac.digest(self._key, b"seeder-subkey" + _SEP + purpose.encode(), "sha256")

    def fingerprint(self) -> str:
        """A short, non-reversible id of the key for reports ("was the same key used?"); never the key."""
        return hashlib.sha256(b"seeder-mask-key-id" + _SEP + self._key).hexdigest()[:12]
