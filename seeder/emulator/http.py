"""Request and response values passed between the emulator's router, handlers and ``$batch``.

A :class:`Request` is one Web API call with its path already relative to ``/api/data/v9.2/``; a
:class:`Response` carries the status, headers, body and how many records it read and wrote (the cost
model charges per record). ``Prefer`` parsing follows the Web API (comma-joined or repeated headers).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import ApiError, bad_syntax

__all__ = ["JSON_TYPE", "Prefer", "Request", "Response", "Segment", "json_response", "split_path"]

JSON_TYPE = "application/json; odata.metadata=minimal"
_ANNOTATIONS = re.compile(r'odata\.include-annotations\s*=\s*("[^"]*"|[^,\s]+)')


@dataclass(frozen=True)
class Prefer:
    """The ``Prefer`` header, parsed."""

    return_representation: bool = False
    maxpagesize: int | None = None
    include_annotations: str | None = None
    track_changes: bool = False
    continue_on_error: bool = False

    @classmethod
    def parse(cls, header: str | None) -> Prefer:
        if not header:
            return cls()
        annotations = None
        m = _ANNOTATIONS.search(header)
        if m:
            annotations = m.group(1).strip('"')
            header = header[: m.start()] + header[m.end():]
        values = {p.strip().lower() for p in header.split(",") if p.strip()}
        size = None
        for v in values:
            if v.startswith("odata.maxpagesize="):
                try:
                    size = int(v.split("=", 1)[1])
                except ValueError:
                    raise bad_syntax(f"The Prefer value '{v}' is not valid.") from None
        return cls(
            return_representation="return=representation" in values,
            maxpagesize=size,
            include_annotations=annotations,
            track_changes="odata.track-changes" in values,
            continue_on_error="odata.continue-on-error" in values,
        )


@dataclass(frozen=True)
class Segment:
    """One path segment: ``name`` and the text inside its parentheses (``key``), if any."""

    name: str
    key: str | None = None


def split_path(path: str) -> list[Segment]:
    """``accounts(name='a/b')/primarycontactid/$ref`` → segments (slashes inside quotes or parens kept)."""
    segments: list[Segment] = []
    buf = ""
    depth = 0
    quoted = False
    for ch in path:
        if ch == "'" and depth:
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "/" and depth == 0 and not quoted:
            segments.append(_segment(buf))
            buf = ""
        else:
            buf += ch
    if buf or not segments:
        segments.append(_segment(buf))
    return segments


def _segment(text: str) -> Segment:
    if text.endswith(")") and "(" in text:
        i = text.index("(")
        return Segment(text[:i], text[i + 1:-1])
    return Segment(text)


@dataclass
class Request:
    """One Web API request, relative to the API root ``base`` (``http://host/api/data/v9.2/``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base: str
    user: str
    raw_query: str = ""
    content_ids: dict[str, str] = field(default_factory=dict)
    in_batch: bool = False

    @property
    def prefer(self) -> Prefer:
        return Prefer.parse(self.headers.get("prefer"))

    def json(self) -> Any:
        if not self.body.strip():
            raise bad_syntax("The request body is empty.")
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "0x80060888", f"The request body is not valid JSON: {exc}.") from None

    @staticmethod
    def parse_query(raw: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in raw.split("&"):
            if not part:
                continue
            key, _, value = part.partition("=")
            out[urllib.parse.unquote_plus(key)] = urllib.parse.unquote(value.replace("+", "%20"))
        return out


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    records_read: int = 0
    records_written: int = 0

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None, **counts: int) -> Response:
    hdrs = [("Content-Type", JSON_TYPE), *(headers or [])]
    return Response(status, hdrs, orjson.dumps(data), **counts)


def error_response(err: ApiError) -> Response:
    return json_response(err.status, err.body(), list(err.headers.items()))
