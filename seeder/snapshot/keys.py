"""Snapshot encryption keys: loading them from the environment or a key file, and naming them safely.

A key is 32 random bytes (AES-256). It comes from ``SEEDER_SNAPSHOT_KEY`` (64 hex digits or base64 of
32 bytes) or from a key file holding the same text (or the 32 raw bytes). The key itself never lands in
a snapshot, a report or an error message; a snapshot records only :func:`key_id`, an HMAC fingerprint
that tells a wrong key apart from a damaged file without revealing anything about the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from seeder.errors import UsageError

__all__ = ["KEY_ENV", "KEY_SIZE", "generate_key", "key_id", "load_key", "parse_key"]

KEY_ENV = "SEEDER_SNAPSHOT_KEY"
KEY_SIZE = 32
_KEY_ID_LABEL = b"seeder snapshot key id v1"


def key_id(key: bytes) -> str:
    """A non-secret fingerprint of ``key``: ``hmac-sha256:`` plus 16 hex digits."""
    digest = hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:16]}"


def generate_key() -> str:
    """A fresh random key as 64 hex digits, ready for ``SEEDER_SNAPSHOT_KEY`` or a key file."""
    return secrets.token_hex(KEY_SIZE)


def parse_key(text: str | bytes, *, origin: str) -> bytes:
    """Decode a key given as hex, base64 (standard or URL-safe) or 32 raw bytes.

    ``origin`` names where it came from for the error message; the value is never echoed.
    """
    if isinstance(text, bytes):
        if len(text) == KEY_SIZE:
            return text
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise _bad_key(origin) from None
    value = text.strip()
    if len(value) == 2 * KEY_SIZE:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == KEY_SIZE:
            return raw
    raise _bad_key(origin)


def _bad_key(origin: str) -> UsageError:
    return UsageError(
        f"the snapshot key from {origin} is not 32 bytes written as hex or base64",
        hint="create one with `python -c 'import secrets; print(secrets.token_hex(32))'`",
    )


def load_key(env: Mapping[str, str] | None = None, key_file: Path | None = None) -> bytes | None:
    """The snapshot key from ``key_file`` when given, else from ``SEEDER_SNAPSHOT_KEY``; ``None`` when neither.

    Raises :class:`UsageError` when the file cannot be read or the value is not a 32-byte key.
    """
    if key_file is not None:
        try:
            raw = Path(key_file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read the snapshot key file {key_file}: {exc.strerror}") from None
        return parse_key(raw if len(raw) == KEY_SIZE else raw.strip(), origin=f"key file {key_file}")
    environment = os.environ if env is None else env
    value = environment.get(KEY_ENV)
    if not value:
        return None
    return parse_key(value, origin=KEY_ENV)
