"""The error tree: its shape, its exit codes, and that no error text can carry a secret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seeder import errors
from seeder.errors import (
    AuthError,
    ComponentError,
    DataverseError,
    MaskingError,
    PlanError,
    RestoreError,
    SafetyError,
    SeederError,
    SnapshotError,
    Throttled,
    UsageError,
    redact,
)

EXPECTED_CODES = {
    SeederError: 1,
    UsageError: 2,
    AuthError: 3,
    DataverseError: 4,
    Throttled: 4,
    PlanError: 5,
    SnapshotError: 6,
    MaskingError: 7,
    RestoreError: 8,
    ComponentError: 9,
    SafetyError: 10,
}


def test_every_error_has_a_distinct_exit_code_and_one_root() -> None:
    for cls, code in EXPECTED_CODES.items():
        assert issubclass(cls, SeederError)
        assert cls.exit_code == code
    leaves = [c for c in EXPECTED_CODES if c not in (SeederError, Throttled)]
    assert len({c.exit_code for c in leaves}) == len(leaves)
    exported = {getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)}
    assert exported == set(EXPECTED_CODES)


def test_error_shape() -> None:
    exc = DataverseError("Record not found", status=404, code="0x80040217", request_id="abc-123", hint="check the id")
    assert exc.to_dict() == {
        "error": "DataverseError",
        "message": "Record not found",
        "hint": "check the id",
        "exit_code": 4,
        "status": 404,
        "code": "0x80040217",
        "request_id": "abc-123",
    }
    assert str(exc) == "Record not found"
    throttled = Throttled("Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
                          retry_after=12.5, code="0x80072322")
    assert throttled.retryable and throttled.status == 429 and throttled.retry_after == 12.5
    assert not exc.retryable


SECRET_TEXTS = [
    "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl",
    "client_secret=Zk8Q~abcdefghijklmnopqrstuvwxyz0123",
    '{"access_token": "0.AAAA-very-long-opaque-token-value"}',
    "https://acct.blob.core.windows.net/c/x?sig=AbCdEf0123456789%3D&se=2026",
    "SEEDER_MASK_KEY=my-super-secret-masking-key",
]


@pytest.mark.parametrize("text", SECRET_TEXTS)
def test_no_error_text_carries_a_secret(text: str) -> None:
    secret = text.split("=", 1)[-1].split(" ", 1)[-1].strip('"}')[-12:]
    for exc in (SeederError(text, hint=text), DataverseError(text, status=401, detail=text), AuthError(text)):
        rendered = f"{exc} {exc.hint} {exc.to_dict()}"
        assert secret not in rendered, rendered


@given(st.from_regex(r"[A-Za-z0-9_\-]{20,60}", fullmatch=True))
def test_bearer_tokens_never_survive(token: str) -> None:
    assert token not in redact(f"request failed: Authorization: Bearer {token}")
    assert token not in redact(f"client_secret={token}&grant_type=client_credentials")


def test_plain_text_is_left_alone() -> None:
    text = "table contact: 12 rows failed (0x80040237 duplicate key)"
    assert redact(text) == text
