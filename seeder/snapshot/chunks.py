"""Chunk files: JSON Lines compressed with zstd (level 3), optionally sealed with AES-256-GCM.

Plain chunk: one zstd frame of ``orjson`` lines, readable with ``zstdcat file | jq``.

Encrypted chunk (``.enc`` suffix) — the zstd stream is cut into frames of at most 1 MiB and each frame
is sealed on its own, so reading and writing stay in bounded memory::

    b"SEEDAES1"                                   8-byte magic
    repeat: len(ciphertext) u32 big-endian | nonce (12 random bytes) | ciphertext + 16-byte GCM tag

Each frame's associated data binds the chunk's path inside the snapshot, the frame's index and whether
it is the last frame, so a frame cannot be moved to another file, reordered, dropped or cut off at the
end without failing authentication. A frame's plaintext is released only after its tag checked out:
a wrong key or a tampered file raises :class:`SnapshotError`, never garbage.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from seeder.errors import SnapshotError

__all__ = [
    "ENCRYPTED_SUFFIX",
    "FRAME_BYTES",
    "MAGIC",
    "ChunkWriter",
    "FileDigest",
    "iter_chunk_lines",
    "read_sealed_bytes",
]

MAGIC = b"SEEDAES1"
ENCRYPTED_SUFFIX = ".enc"
FRAME_BYTES = 1 << 20
ZSTD_LEVEL = 3
_LENGTH = struct.Struct(">I")
_NONCE_BYTES = 12
_TAG_BYTES = 16
_READ_BYTES = 256 << 10
_DECOMPRESS_SLICE = 64 << 10
_LINE_BATCH_BYTES = 1 << 20
_AAD_LABEL = b"seeder-chunk-v1\x00"


@dataclass(frozen=True)
class FileDigest:
    """The sha256 (hex) and size in bytes of one file as written."""

    sha256: str
    size: int


def _aad(relpath: str, index: int, final: bool) -> bytes:
    return _AAD_LABEL + relpath.encode("utf-8") + b"\x00" + index.to_bytes(8, "big") + bytes([final])


def _compressor(window_log: int | None) -> zstandard.ZstdCompressor:
    if window_log is None:
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
    params = zstandard.ZstdCompressionParameters.from_level(ZSTD_LEVEL, window_log=window_log, write_checksum=1)
    return zstandard.ZstdCompressor(compression_params=params)


class ChunkWriter:
    """Streams lines (or raw bytes) into one chunk file, compressing and optionally encrypting on the way.

    ``relpath`` is the file's path inside the snapshot (bound into the encryption). ``compress=False``
    stores raw bytes (components). A small ``window_log`` keeps the reader's memory small (temporary sort
    runs, many of which are read at once), and so do smaller ``frame_bytes``. ``close`` returns the file's
    :class:`FileDigest`.
    """

    def __init__(
        self,
        fs_path: Path,
        relpath: str,
        key: bytes | None,
        *,
        compress: bool = True,
        window_log: int | None = None,
        frame_bytes: int = FRAME_BYTES,
    ) -> None:
        self.relpath = relpath
        self.rows = 0
        self._path = fs_path
        self._file: BinaryIO = open(fs_path, "xb")  # noqa: SIM115 - closed in close()/abort()
        self._hash = hashlib.sha256()
        self._size = 0
        self._aead = AESGCM(key) if key is not None else None
        self._pending = bytearray()
        self._frame_bytes = min(max(1, frame_bytes), FRAME_BYTES)
        self._frame_index = 0
        self._compressor = _compressor(window_log).compressobj() if compress else None
        self._lines: list[bytes] = []
        self._line_bytes = 0
        self._closed = False
        if self._aead is not None:
            self._emit(MAGIC)

    def write_line(self, line: bytes) -> None:
        """Append one JSON document (without its newline) as a line."""
        self._lines.append(line)
        self._lines.append(b"\n")
        self._line_bytes += len(line) + 1
        self.rows += 1
        if self._line_bytes >= _LINE_BATCH_BYTES:
            self._flush_lines()

    def write_bytes(self, data: bytes) -> None:
        """Append raw bytes (for components)."""
        self._flush_lines()
        self._feed(self._compressor.compress(data) if self._compressor is not None else data)

    def _flush_lines(self) -> None:
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        self._line_bytes = 0
        self._feed(self._compressor.compress(data) if self._compressor is not None else data)

    def _feed(self, data: bytes) -> None:
        if not data:
            return
        if self._aead is None:
            self._emit(data)
            return
        self._pending += data
        while len(self._pending) > self._frame_bytes:
            frame = bytes(self._pending[: self._frame_bytes])
            del self._pending[: self._frame_bytes]
            self._seal(frame, final=False)

    def _seal(self, plaintext: bytes, *, final: bool) -> None:
        assert self._aead is not None
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, _aad(self.relpath, self._frame_index, final))
        self._frame_index += 1
        self._emit(_LENGTH.pack(len(sealed)) + nonce + sealed)

    def _emit(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self._size += len(data)

    def close(self) -> FileDigest:
        """Flush everything, fsync and close; the digest of the bytes on disk."""
        if self._closed:
            raise SnapshotError(f"{self.relpath}: chunk already closed")
        self._flush_lines()
        if self._compressor is not None:
            self._feed(self._compressor.flush())
        if self._aead is not None:
            self._seal(bytes(self._pending), final=True)
            self._pending.clear()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._closed = True
        return FileDigest(self._hash.hexdigest(), self._size)

    def abort(self) -> None:
        """Close without finishing (the file is left for the caller to remove)."""
        if not self._closed:
            self._closed = True
            self._file.close()


def _iter_stored_blocks(
    fs_path: Path, relpath: str, key: bytes | None, expected: FileDigest | None
) -> Iterator[bytes]:
    """The stored payload of a chunk in blocks: decrypted and authenticated frame by frame when sealed.

    With ``expected`` the bytes read are hashed and a mismatch with the manifest raises at the end.
    """
    try:
        handle: io.BufferedReader = open(fs_path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise SnapshotError(f"{relpath}: cannot open ({exc.strerror})") from None
    digest = hashlib.sha256()
    size = 0

    def read(count: int) -> bytes:
        nonlocal size
        data = handle.read(count)
        digest.update(data)
        size += len(data)
        return data

    with handle:
        head = read(len(MAGIC))
        if key is None:
            if head == MAGIC:
                raise SnapshotError(f"{relpath}: the file is encrypted and no key was given",
                                    hint="set SEEDER_SNAPSHOT_KEY or pass --key-file")
            if head:
                yield head
            while block := read(_READ_BYTES):
                yield block
        else:
            if head != MAGIC:
                raise SnapshotError(f"{relpath}: not an encrypted chunk (bad header)")
            yield from _open_frames(relpath, AESGCM(key), handle, read)
    if expected is not None and (size != expected.size or digest.hexdigest() != expected.sha256):
        raise SnapshotError(f"{relpath}: content does not match the manifest's sha256 (damaged or altered)")


def _open_frames(
    relpath: str, aead: AESGCM, handle: io.BufferedReader, read: Callable[[int], bytes]
) -> Iterator[bytes]:
    index = 0
    while True:
        header = read(_LENGTH.size)
        if not header:
            raise SnapshotError(f"{relpath}: truncated (the final frame is missing)")
        if len(header) != _LENGTH.size:
            raise SnapshotError(f"{relpath}: truncated frame header")
        (length,) = _LENGTH.unpack(header)
        if length < _TAG_BYTES or length > FRAME_BYTES + _TAG_BYTES:
            raise SnapshotError(f"{relpath}: damaged frame header (length {length})")
        nonce = read(_NONCE_BYTES)
        sealed = read(length)
        if len(nonce) != _NONCE_BYTES or len(sealed) != length:
            raise SnapshotError(f"{relpath}: truncated frame {index}")
        final = handle.peek(1) == b""
        try:
            plaintext = aead.decrypt(nonce, sealed, _aad(relpath, index, final))
        except InvalidTag:
            raise SnapshotError(
                f"{relpath}: authentication failed (wrong key, or the file was altered or truncated)"
            ) from None
        index += 1
        if plaintext:
            yield plaintext
        if final:
            return


def iter_chunk_lines(
    fs_path: Path, relpath: str, key: bytes | None, expected: FileDigest | None = None
) -> Iterator[bytes]:
    """Every line (without newline) of a chunk, decompressed and, when ``key`` is given, decrypted.

    With ``expected`` the file's sha256 and size are checked too (the error comes after the last line).
    Stored blocks are fed to zstd in small slices so that decompressed data in flight stays small.
    """
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    tail = b""
    for piece in _iter_stored_blocks(fs_path, relpath, key, expected):
        for start in range(0, len(piece), _DECOMPRESS_SLICE):
            try:
                out = decompressor.decompress(piece[start : start + _DECOMPRESS_SLICE])
            except zstandard.ZstdError as exc:
                raise SnapshotError(f"{relpath}: damaged zstd data ({exc})") from None
            if decompressor.eof and decompressor.unused_data:
                raise SnapshotError(f"{relpath}: unexpected bytes after the end of the zstd stream")
            if not out:
                continue
            lines = (tail + out if tail else out).split(b"\n")
            tail = lines.pop()
            yield from lines
    if not decompressor.eof:
        raise SnapshotError(f"{relpath}: truncated zstd stream")
    if tail:
        raise SnapshotError(f"{relpath}: the last line is incomplete")


def read_sealed_bytes(
    fs_path: Path, relpath: str, key: bytes | None, expected: FileDigest | None = None
) -> bytes:
    """The whole content of an uncompressed file (a component), decrypted when ``key`` is given."""
    return b"".join(_iter_stored_blocks(fs_path, relpath, key, expected))
