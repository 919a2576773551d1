"""OData ``$batch`` multipart bodies: encoding requests and decoding responses (pure, no I/O).

Requests are encoded as independent parts (or one changeset when ``atomic``), CRLF line endings, each part
``application/http`` with ``Content-Transfer-Encoding: binary`` and a ``Content-ID``. Responses are decoded
into :class:`PartResponse` in order, descending into ``changesetresponse`` parts; LF-only bodies are
tolerated.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from seeder.errors import DataverseError

__all__ = ["PartRequest", "PartResponse", "decode_batch", "encode_batch"]

_CRLF = b"\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_STATUS = re.compile(rb"^HTTP/\d(?:\.\d)?\s+(\d{3})(?:\s+(.*))?$")


@dataclass(frozen=True)
class PartRequest:
    """One request inside a batch. ``url`` is API-relative (``accounts(…)``) or absolute."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartResponse:
    """One response inside a batch, in request order."""

    status: int
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body.strip() else {}

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> dict[str, Any]:
        """``{"code", "message", "request_id"}`` for a failed part."""
        code: str | None = None
        message = ""
        try:
            err = self.json().get("error", {})
            if isinstance(err, dict):
                code = err.get("code")
                message = str(err.get("message") or "")
        except (orjson.JSONDecodeError, AttributeError):
            message = self.body[:200].decode("utf-8", "replace")
        request_id = self.headers.get("req_id") or self.headers.get("x-ms-service-request-id")
        return {"code": code, "message": message or f"HTTP {self.status}", "request_id": request_id}


def encode_batch(parts: Sequence[PartRequest], api_path: str, *, atomic: bool = False,
                 boundary: str | None = None) -> tuple[bytes, str]:
    """``(body, content_type)`` for ``POST $batch``. ``api_path`` is e.g. ``/api/data/v9.2``."""
    batch = boundary or f"batch_{uuid.uuid4().hex}"
    out: list[bytes] = []
    inner_boundary = f"changeset_{uuid.uuid4().hex}" if atomic else batch
    encoded_parts = [_encode_part(p, api_path, i + 1) for i, p in enumerate(parts)]
    if atomic:
        out.append(f"--{batch}".encode())
        out.append(f'Content-Type: multipart/mixed; boundary="{inner_boundary}"'.encode())
        out.append(b"")
    for part in encoded_parts:
        out.append(f"--{inner_boundary}".encode())
        out.append(part)
    if atomic:
        out.append(f"--{inner_boundary}--".encode())
        out.append(b"")
    out.append(f"--{batch}--".encode())
    out.append(b"")
    return _CRLF.join(out), f'multipart/mixed; boundary="{batch}"'


def _encode_part(part: PartRequest, api_path: str, content_id: int) -> bytes:
    url = part.url if part.url.startswith(("http://", "https://", "/")) else f"{api_path}/{part.url}"
    lines = [b"Content-Type: application/http", b"Content-Transfer-Encoding: binary",
             f"Content-ID: {content_id}".encode(), b"", f"{part.method.upper()} {url} HTTP/1.1".encode()]
    body = b"" if part.body is None else orjson.dumps(part.body)
    for name, value in part.headers.items():
        lines.append(f"{name}: {value}".encode())
    if part.body is not None:
        lines.append(b"Content-Type: application/json; type=entry")
        lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"")
    lines.append(body)
    return _CRLF.join(lines)


def _split_head(blob: bytes) -> tuple[bytes, bytes]:
    """(header block, rest) at the first blank line (CRLF or LF)."""
    m = re.search(rb"\r?\n\r?\n", blob)
    if not m:
        return blob, b""
    return blob[: m.start()], blob[m.end():]


def _headers(block: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in re.split(rb"\r?\n", block):
        name, sep, value = line.partition(b":")
        if sep:
            out[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    return out


def decode_batch(body: bytes, content_type: str) -> list[PartResponse]:
    """The parts of a ``$batch`` response, in order (changeset responses flattened in place)."""
    m = _BOUNDARY.search(content_type)
    if not m:
        raise DataverseError("the $batch response has no multipart boundary", status=200, code="bad_batch")
    return _decode(body, m.group(1))


def _decode(body: bytes, boundary: str) -> list[PartResponse]:
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|$)")
    pieces: list[bytes] = []
    last = None
    for match in delimiter.finditer(body):
        if last is not None:
            pieces.append(body[last:match.start()])
        if match.group(1):
            last = None
            break
        last = match.end()
    if last is not None:
        pieces.append(body[last:])
    out: list[PartResponse] = []
    for piece in pieces:
        head, rest = _split_head(piece)
        headers = _headers(head)
        ctype = headers.get("content-type", "")
        if ctype.lower().startswith("multipart/mixed"):
            inner = _BOUNDARY.search(ctype)
            if inner:
                out.extend(_decode(rest, inner.group(1)))
            continue
        out.append(_http_response(rest, headers.get("content-id")))
    return out


def _http_response(blob: bytes, content_id: str | None) -> PartResponse:
    blob = blob.lstrip(b"\r\n")
    status_line, _, remainder = blob.partition(b"\n")
    m = _STATUS.match(status_line.rstrip(b"\r"))
    if not m:
        raise DataverseError("a $batch response part has no HTTP status line", status=200, code="bad_batch")
    head, payload = _split_head(remainder) if remainder.strip() else (b"", b"")
    if not re.search(rb"\r?\n\r?\n", remainder) and remainder.strip():
        head, payload = remainder, b""
    headers = _headers(head)
    length = headers.get("content-length")
    if length and length.isdigit():
        payload = payload[: int(length)]
    return PartResponse(status=int(m.group(1)), headers=headers, body=payload.rstrip(b"\r\n"),
                        content_id=content_id)
