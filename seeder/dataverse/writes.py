"""Bulk writes: ``write_many`` over UpsertMultiple / CreateMultiple / UpdateMultiple, falling back to ``$batch``.

Rows are grouped into chunks of ``batch_size`` and written in parallel by a thread pool whose effective
concurrency is governed by the transport's adaptive lanes. A chunk first goes as one ``*Multiple`` request
(all-or-nothing on standard tables). When the table does not support the message (remembered per table) or
the chunk fails, the chunk is replayed as a ``$batch`` of single PATCH/POST requests with
``odata.continue-on-error`` so that only the bad rows fail — Microsoft's recommended fallback. Rows whose
part was throttled or unavailable are re-sent. Each row ends as exactly one :class:`RowResult`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from typing import Any

from seeder.dataverse.batch import PartRequest, PartResponse, decode_batch, encode_batch
from seeder.dataverse.errors import parse_retry_after
from seeder.dataverse.transport import API_PATH, Transport
from seeder.errors import DataverseError, UsageError

__all__ = ["MODES", "BulkWriter", "RowResult", "TableRef", "entity_id_from_url"]

MODES = {"upsert": "upsert", "create-only": "create-only", "create": "create-only",
         "update-only": "update-only", "update": "update-only"}
_MESSAGE = {"upsert": "UpsertMultiple", "create-only": "CreateMultiple", "update-only": "UpdateMultiple"}
_CONDITION = {"upsert": {}, "create-only": {"If-None-Match": "*"}, "update-only": {"If-Match": "*"}}
_RESEND_STATUS = frozenset({429, 502, 503, 504})
_MAX_PART_ROUNDS = 8


@dataclass(frozen=True)
class TableRef:
    """What a write needs to know about a table: logical name, entity set and primary id column."""

    name: str
    entity_set: str
    primary_id: str


@dataclass(frozen=True)
class RowResult:
    """The outcome of writing one row. ``error`` is ``{"code", "message", "request_id"}`` when it failed."""

    table: str
    id: str
    ok: bool
    status: int
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "id": self.id, "ok": self.ok, "status": self.status, "error": self.error}


def entity_id_from_url(url: str) -> str:
    """The key between the last ``(`` and ``)`` of an ``OData-EntityId`` URL."""
    start, end = url.rfind("("), url.rfind(")")
    return url[start + 1:end] if 0 <= start < end else ""


def _error_dict(exc: DataverseError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "request_id": exc.request_id}


def _unsupported(exc: DataverseError, message: str) -> bool:
    """Whether ``exc`` says the table cannot take ``message`` at all (rather than a row being bad)."""
    text = exc.message.lower()
    if exc.code == "0x8006088a" or exc.status in (405, 501):  # no such bound action on this entity set
        return True
    if "does not support entities of type" in text:  # MessageProcessorCache returned MessageProcessor.Empty
        return True
    return message.lower() in text and ("not supported" in text or "not yet been implemented" in text)


Row = tuple[str | None, dict[str, Any]]


class BulkWriter:
    """Writes many rows of one table at a time, in parallel, over one :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._unsupported: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def supports(self, table: str, message: str) -> bool:
        with self._lock:
            return (table, message) not in self._unsupported

    def _mark_unsupported(self, table: str, message: str) -> None:
        with self._lock:
            self._unsupported.add((table, message))

    def write_many(self, ref: TableRef, rows: Iterable[Row], *, mode: str = "upsert",
                   batch_size: int = 100) -> Iterator[RowResult]:
        """One :class:`RowResult` per row, yielded as chunks finish (not in input order)."""
        if mode not in MODES:
            raise UsageError(f"unknown write mode {mode!r}", hint="Use upsert, create-only or update-only.")
        mode = MODES[mode]
        return self._parallel(rows, batch_size, lambda chunk: self.write_chunk(ref, chunk, mode))

    def associate_many(self, ref: TableRef, navigation: str, target: TableRef, pairs: Iterable[tuple[str, str]],
                       *, batch_size: int = 100) -> Iterator[RowResult]:
        """Link ``(id, target id)`` pairs over a collection-valued navigation property: one ``$batch`` of
        ``$ref`` requests per chunk (a batch is one request toward the service's request count), chunks in
        parallel. Each result's id is ``"<id>:<target id>"``."""
        def chunk_of(chunk: list[tuple[str, str]]) -> list[RowResult]:
            parts = [PartRequest("POST", f"{ref.entity_set}({a})/{navigation}/$ref",
                                 {"@odata.id": f"{self.transport.api}/{target.entity_set}({b})"}) for a, b in chunk]
            return self._send_parts(ref, parts, [f"{a}:{b}" for a, b in chunk], idempotent=True)

        return self._parallel(pairs, batch_size, chunk_of)

    def _parallel(self, items: Iterable[Any], batch_size: int,
                  run: Callable[[list[Any]], list[RowResult]]) -> Iterator[RowResult]:
        """Run ``run`` over chunks of ``items`` on as many threads as the lanes allow; results as they finish."""
        batch_size = max(1, min(1000, batch_size))
        workers = max(1, min(96, self.transport.ceiling * len(self.transport.pool.lanes)))
        it = iter(items)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seeder-write") as pool:
            pending: set[Future[list[RowResult]]] = set()
            while True:
                chunk = list(islice(it, batch_size))
                if chunk:
                    pending.add(pool.submit(run, chunk))
                if pending and (not chunk or len(pending) >= workers * 2):
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield from fut.result()
                if not chunk and not pending:
                    return

    def write_chunk(self, ref: TableRef, chunk: list[Row], mode: str) -> list[RowResult]:
        """Write one chunk: ``*Multiple`` first, ``$batch`` when that is unsupported or fails."""
        message = _MESSAGE[mode]
        if self.supports(ref.name, message):
            try:
                return self._multiple(ref, chunk, message)
            except DataverseError as exc:
                if exc.status == 429 or exc.code in ("timeout", "transport", "connect"):
                    if mode == "create-only":  # may have been applied: replaying would duplicate
                        return [self._failed(ref, rid, exc) for rid, _ in chunk]
                elif _unsupported(exc, message):
                    self._mark_unsupported(ref.name, message)
        return self._batch(ref, chunk, mode)

    def _failed(self, ref: TableRef, rid: str | None, exc: DataverseError) -> RowResult:
        return RowResult(ref.name, rid or "", False, exc.status, _error_dict(exc))

    def _multiple(self, ref: TableRef, chunk: list[Row], message: str) -> list[RowResult]:
        odata_type = f"Microsoft.Dynamics.CRM.{ref.name}"
        targets = []
        for rid, body in chunk:
            target = {"@odata.type": odata_type, **body}
            if rid:
                target[ref.primary_id] = rid
            targets.append(target)
        response = self.transport.request(
            "POST", f"{ref.entity_set}/Microsoft.Dynamics.CRM.{message}", json={"Targets": targets},
            idempotent=message != "CreateMultiple", what=f"{ref.name} {message}",
        )
        ids = [rid or "" for rid, _ in chunk]
        if message == "CreateMultiple" and response.content:
            returned = response.json().get("Ids") or []
            if len(returned) == len(ids):
                ids = [str(x) for x in returned]
        return [RowResult(ref.name, rid, True, response.status_code) for rid in ids]

    def _batch(self, ref: TableRef, chunk: list[Row], mode: str) -> list[RowResult]:
        condition = _CONDITION[mode]
        parts = [PartRequest("PATCH", f"{ref.entity_set}({rid})", body, condition) if rid
                 else PartRequest("POST", ref.entity_set, body) for rid, body in chunk]
        return self._send_parts(ref, parts, [rid for rid, _ in chunk], idempotent=mode != "create-only")

    def _send_parts(self, ref: TableRef, parts: list[PartRequest], ids: list[str | None], *,
                    idempotent: bool) -> list[RowResult]:
        """Send ``parts`` as one ``$batch`` with continue-on-error; parts throttled or refused for a moment are
        sent again (in a smaller batch) up to a few rounds. One result per part, in order."""
        results: dict[int, RowResult] = {}
        todo = list(range(len(parts)))
        for _round in range(_MAX_PART_ROUNDS):
            content, ctype = encode_batch([parts[i] for i in todo], API_PATH)
            try:
                response = self.transport.request(
                    "POST", "$batch", content=content, idempotent=idempotent,
                    headers={"Content-Type": ctype, "Prefer": "odata.continue-on-error"},
                    what=f"{ref.name} $batch",
                )
                answers = decode_batch(response.content, response.headers.get("content-type", ""))
            except DataverseError as exc:
                for i in todo:
                    results[i] = self._failed(ref, ids[i], exc)
                break
            if len(answers) != len(todo):
                mismatch = DataverseError(
                    f"{ref.name} $batch: {len(answers)} answers for {len(todo)} requests",
                    status=response.status_code, code="bad_batch")
                for i in todo:
                    results[i] = self._failed(ref, ids[i], mismatch)
                break
            retry: list[int] = []
            wait_s = 0.0
            for i, answer in zip(todo, answers, strict=True):
                if answer.status in _RESEND_STATUS and _round < _MAX_PART_ROUNDS - 1:
                    retry.append(i)
                    wait_s = max(wait_s, parse_retry_after(answer.headers.get("retry-after"), 0.5))
                    continue
                results[i] = self._part_result(ref, ids[i], answer)
            if not retry:
                break
            todo = retry
            self.transport.pause(wait_s)
        return [results[i] for i in range(len(parts))]

    @staticmethod
    def _part_result(ref: TableRef, rid: str | None, answer: PartResponse) -> RowResult:
        if answer.ok:
            if not rid:
                rid = entity_id_from_url(answer.headers.get("odata-entityid", ""))
            return RowResult(ref.name, rid or "", True, answer.status)
        return RowResult(ref.name, rid or "", False, answer.status, answer.error())
