"""``POST $batch``: multipart/mixed requests with changesets, ``Content-ID`` references and
``Prefer: odata.continue-on-error`` (dataverse-protocol.md §6).

The parser accepts LF and CRLF line ends. Requests run in order; a changeset runs in one transaction
and a failing part rolls the whole changeset back (its response is that part's error). Without
continue-on-error the batch stops at the first failure and answers 400 with the responses so far; with it
the batch answers 200 and every part's own status. ``$n`` stands for the URL of the row created by
``Content-ID: n``, in URLs and in ``@odata.bind`` / ``@odata.id`` values.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from .env import Environment
from .errors import ApiError, bad_syntax
from .http import Request, Response, Segment, error_response

__all__ = ["handle_batch", "parse_multipart"]

MAX_PARTS = 1000
_REASON = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
           404: "Not Found", 405: "Method Not Allowed", 412: "Precondition Failed", 429: "Too Many Requests",
           500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes
    changeset: list[Part] | None = None
    content_id: str | None = None


@dataclass
class InnerRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _boundary(content_type: str) -> str:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise bad_syntax("The $batch request needs Content-Type: multipart/mixed; boundary=...")
    return m.group(1)


def _split_head(data: bytes) -> tuple[dict[str, str], bytes]:
    m = re.search(rb"\r?\n\r?\n", data)
    head, body = (data[: m.start()], data[m.end():]) if m else (data, b"")
    headers: dict[str, str] = {}
    for line in re.split(rb"\r?\n", head):
        if b":" in line:
            k, _, v = line.decode("utf-8", "replace").partition(":")
            headers[k.strip().lower()] = v.strip()
    return headers, body


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """Parts of a multipart/mixed body (changesets parsed recursively)."""
    delim = b"--" + boundary.encode()
    chunks = re.split(rb"(?:\r?\n)?" + re.escape(delim), body)
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = re.sub(rb"^[ \t]*\r?\n", b"", chunk, count=1)
        headers, content = _split_head(chunk)
        ctype = headers.get("content-type", "")
        part = Part(headers, content, content_id=headers.get("content-id"))
        if ctype.lower().startswith("multipart/mixed"):
            part.changeset = parse_multipart(content, _boundary(ctype))
        parts.append(part)
    return parts


def _inner(part: Part) -> InnerRequest:
    lines = re.split(rb"\r?\n", part.body, maxsplit=1)
    m = re.match(r"^(GET|POST|PATCH|PUT|DELETE)\s+(\S+)(?:\s+HTTP/1\.[01])?\s*$", lines[0].decode("utf-8", "replace"))
    if not m:
        raise bad_syntax("A $batch part does not start with an HTTP request line.")
    headers, body = _split_head(lines[1] if len(lines) > 1 else b"")
    if len(lines) > 1 and re.match(rb"^\r?\n", lines[1]):
        headers, body = {}, lines[1].lstrip(b"\r\n")
    return InnerRequest(m.group(1), m.group(2), headers, body.rstrip(b"\r\n"))


def _path(url: str, content_ids: dict[str, str]) -> tuple[str, str]:
    m = re.match(r"^\$(\d+)(.*)$", url)
    if m:
        if m.group(1) not in content_ids:
            raise bad_syntax(f"Content-ID Reference: '${m.group(1)}' does not exist in the batch context.")
        url = content_ids[m.group(1)] + m.group(2)
    url = re.sub(r"^[a-z]+://[^/]+", "", url)
    url = re.sub(r"^/?api/data/v[0-9.]+/", "", url).lstrip("/")
    path, _, query = url.partition("?")
    return path, query


def _run(env: Environment, outer: Request, inner: InnerRequest, content_ids: dict[str, str]) -> Response:
    from .app import dispatch

    try:
        path, query = _path(inner.url, content_ids)
        req = Request(method=inner.method, path=path, query=Request.parse_query(query),
                      headers={**inner.headers, "authorization": outer.headers.get("authorization", "")},
                      body=inner.body, base=outer.base, user=outer.user, raw_query=query,
                      content_ids=content_ids, in_batch=True)
        return dispatch(env, req)
    except ApiError as err:
        return error_response(err)
    except Exception:  # one broken part must not take the batch down with a traceback
        return error_response(ApiError(500, "0x80040216", "An unexpected error occurred."))


def _remember(response: Response, content_id: str | None, base: str, content_ids: dict[str, str]) -> None:
    location = response.header("OData-EntityId")
    if content_id and location:
        content_ids[content_id] = location[len(base):] if location.startswith(base) else location
        response.headers.append(("Location", location))


def _render(response: Response, content_id: str | None) -> bytes:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        head.append(f"Content-ID: {content_id}")
    lines = [f"HTTP/1.1 {response.status} {_REASON.get(response.status, 'Unknown')}", "OData-Version: 4.0"]
    lines += [f"{k}: {v}" for k, v in response.headers]
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + response.body + b"\r\n"


class _Rollback(Exception):
    def __init__(self, response: Response, content_id: str | None) -> None:
        super().__init__("changeset failed")
        self.response = response
        self.content_id = content_id


def handle_batch(env: Environment, req: Request, segs: list[Segment]) -> Response:
    parts = parse_multipart(req.body, _boundary(req.headers.get("content-type", "")))
    total = sum(len(p.changeset) if p.changeset is not None else 1 for p in parts)
    if total > MAX_PARTS:
        raise bad_syntax(f"The number of requests in the batch ({total}) exceeds the limit of {MAX_PARTS}.")
    continue_on_error = req.prefer.continue_on_error
    boundary = f"batchresponse_{uuid.uuid4()}"
    out: list[bytes] = []
    content_ids: dict[str, str] = {}
    failed = False
    read = written = 0
    for part in parts:
        if part.changeset is not None:
            cs_boundary = f"changesetresponse_{uuid.uuid4()}"
            responses: list[tuple[Response, str | None]] = []
            try:
                with env.store.transaction():
                    for sub in part.changeset:
                        inner = _inner(sub)
                        if inner.method == "GET":
                            raise _Rollback(error_response(bad_syntax(
                                "GET requests are not allowed inside a changeset.")), sub.content_id)
                        response = _run(env, req, inner, content_ids)
                        if response.status >= 400:
                            raise _Rollback(response, sub.content_id)
                        _remember(response, sub.content_id, req.base, content_ids)
                        responses.append((response, sub.content_id))
            except _Rollback as rb:
                failed = True
                responses = [(rb.response, rb.content_id)]
            read += sum(r.records_read for r, _ in responses)
            written += sum(r.records_written for r, _ in responses if r.status < 400)
            body = b"".join(f"--{cs_boundary}\r\n".encode() + _render(r, cid) for r, cid in responses)
            out.append(f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={cs_boundary}\r\n\r\n".encode()
                       + body + f"--{cs_boundary}--\r\n".encode())
        else:
            try:
                inner = _inner(part)
                response = _run(env, req, inner, content_ids)
            except ApiError as err:
                response = error_response(err)
            _remember(response, part.content_id, req.base, content_ids)
            read += response.records_read
            written += response.records_written
            failed = failed or response.status >= 400
            out.append(f"--{boundary}\r\n".encode() + _render(response, part.content_id))
        if failed and not continue_on_error:
            break
    body = b"".join(out) + f"--{boundary}--\r\n".encode()
    headers = [("Content-Type", f"multipart/mixed; boundary={boundary}")]
    if continue_on_error:
        headers.append(("Preference-Applied", "odata.continue-on-error"))
    status = 400 if failed and not continue_on_error else 200
    return Response(status, headers, body, records_read=read, records_written=written)
