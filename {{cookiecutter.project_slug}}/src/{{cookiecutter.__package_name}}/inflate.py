"""Gzip input that a hop can resume in O(1): inflate with access points, on the zlib the runtime has.

Python's zlib module cannot stop at a deflate block boundary, restore a bit position or hand out
its window, so members are inflated through ctypes on libz.so.1 (the library Python's own zlib
module is linked to), the way zlib's examples/zran.c builds its index: `inflate(Z_BLOCK)` returns
at every block boundary, where the compressed position (to the bit), the decompressed position
and the last 32 KiB of output are all a later inflate needs (`inflatePrime` and
`inflateSetDictionary`). Headers and trailers are parsed here and members inflated raw, so each
member's CRC-32 and length are checked whether or not a hop resumed inside it.

A hop remembers the boundaries it passes and the output behind them, lets go of what lies before
the records it has consumed (`release`), and at its stop asks for the last boundary at or before
the stop (`point_at`). The next hop restores that point and skips the few bytes up to its offset.
"""

from __future__ import annotations

import ctypes
import functools
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"
WINDOW = 32 * 1024
_Z_OK, _Z_STREAM_END, _Z_BUF_ERROR, _Z_BLOCK = 0, 1, -5, 5
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 2, 4, 8, 16


class GzipError(Exception):
    """The compressed stream is truncated or corrupt; the message names the compressed offset."""


@dataclass(frozen=True)
class AccessPoint:
    """Where inflating can start again: a deflate block boundary, or a member's first byte.

    `compressed` is the offset of the first whole byte after the boundary, and `bits` (0-7) how
    many high bits of the byte before it already belong to the next block. `member_crc` and
    `member_size` cover the member's output before `decompressed`, for its trailer check.
    """

    compressed: int
    bits: int = 0
    decompressed: int = 0
    window: bytes = b""
    member_crc: int = 0
    member_size: int = 0
    in_member: bool = False  # False: at a member header (or the end of the object)

    @property
    def read_from(self) -> int:
        """The first compressed byte that inflating from here needs."""
        return self.compressed - (1 if self.bits else 0)


START = AccessPoint(0)


class _ZStream(ctypes.Structure):
    _fields_ = [
        ("next_in", ctypes.c_void_p),
        ("avail_in", ctypes.c_uint),
        ("total_in", ctypes.c_ulong),
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_uint),
        ("total_out", ctypes.c_ulong),
        ("msg", ctypes.c_char_p),
        ("state", ctypes.c_void_p),
        ("zalloc", ctypes.c_void_p),
        ("zfree", ctypes.c_void_p),
        ("opaque", ctypes.c_void_p),
        ("data_type", ctypes.c_int),
        ("adler", ctypes.c_ulong),
        ("reserved", ctypes.c_ulong),
    ]


@functools.cache
def _libz() -> ctypes.CDLL:
    """zlib, loaded at the first gzip object (a missing library fails that run, not every import)."""
    try:
        lib = ctypes.CDLL("libz.so.1")
    except OSError as exc:
        raise GzipError(f"gzip input needs zlib (libz.so.1), which this runtime lacks: {exc}") from None
    stream = ctypes.POINTER(_ZStream)
    lib.zlibVersion.restype = ctypes.c_char_p
    lib.inflateInit2_.argtypes = [stream, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.inflate.argtypes = [stream, ctypes.c_int]
    lib.inflateEnd.argtypes = [stream]
    lib.inflatePrime.argtypes = [stream, ctypes.c_int, ctypes.c_int]
    lib.inflateSetDictionary.argtypes = [stream, ctypes.c_char_p, ctypes.c_uint]
    return lib


class Inflater:
    """The decompressed bytes of a gzip object from an access point, inflated `out_step` bytes at
    most at a time (a highly compressible object cannot blow up a hop's memory).

    `chunks` are the compressed object's bytes from `point.read_from` on.
    """

    def __init__(self, chunks: Iterator[bytes], point: AccessPoint = START, out_step: int = 256 * 1024) -> None:
        self._chunks = chunks
        self._start = point
        self._out_step = out_step
        self._in, self._pos = b"", 0  # compressed bytes; _pos is the first not consumed
        self._in_at = point.read_from  # the object offset of _in[0]
        self.decompressed = point.decompressed
        self._points: deque[AccessPoint] = deque([point])
        # Output kept for windows: (offset, bytes), from WINDOW before the oldest point kept.
        self._recent: deque[tuple[int, bytes]] = deque()
        if point.window:
            self._recent.append((point.decompressed - len(point.window), point.window))

    @property
    def compressed(self) -> int:
        """The compressed offset of the first byte not consumed."""
        return self._in_at + self._pos

    def chunks(self, offset: int) -> Iterator[bytes]:
        """The decompressed bytes from `offset` (at or after the start point's) to the end, in
        chunks of `out_step` bytes but the last: inflate stops at every block and member end, and
        a reader should not pay per block (nor stop a hop early on a short one)."""
        skip = offset - self._start.decompressed
        held: list[bytes] = []
        size = 0
        for piece in self._pieces():
            if skip >= len(piece):
                skip -= len(piece)
                continue
            piece, skip = piece[skip:] if skip else piece, 0
            held.append(piece)
            size += len(piece)
            if size >= self._out_step:
                yield held[0] if len(held) == 1 else b"".join(held)
                held, size = [], 0
        if held:
            yield b"".join(held)

    def _pieces(self) -> Iterator[bytes]:
        point = self._start
        if point.in_member:
            partial = self._fill(1, "deflate data")[0] if point.bits else 0
            self._pos += 1 if point.bits else 0
            yield from self._deflate(point.bits, partial, point.window, point.member_crc, point.member_size)
        while self._skip_padding():
            self._points.append(AccessPoint(self.compressed, 0, self.decompressed))
            self._header()
            yield from self._deflate(0, 0, b"", 0, 0)

    # -- compressed input -------------------------------------------------------------------
    def _more(self) -> bool:
        chunk = next(self._chunks, b"")
        if not chunk:
            return False
        self._in_at += self._pos
        self._in, self._pos = self._in[self._pos :] + chunk, 0
        return True

    def _fill(self, n: int, what: str) -> bytes:
        """At least `n` unconsumed bytes (a view from _pos), reading more as needed."""
        while len(self._in) - self._pos < n:
            if not self._more():
                raise GzipError(f"the gzip stream is truncated in {what} at compressed byte {self.compressed}")
        return self._in[self._pos : self._pos + max(n, 0)]

    def _skip_padding(self) -> bool:
        """True when another member follows; NUL padding after the last member is allowed."""
        while True:
            if self._pos == len(self._in) and not self._more():
                return False
            if self._in[self._pos] != 0:
                return True
            self._pos += 1

    def _header(self) -> None:
        at = self.compressed
        try:
            head = self._fill(10, "a member header")
        except GzipError:
            head = self._in[self._pos :]  # what there is; whether it looks like a header decides the message
            if head[:3] != (GZIP_MAGIC + b"\x08")[: len(head)]:
                raise GzipError(
                    f"no gzip member starts at compressed byte {at}: trailing data or a corrupt stream"
                ) from None
            raise
        if head[:2] != GZIP_MAGIC or head[2] != 8:
            raise GzipError(f"no gzip member starts at compressed byte {at}: trailing data or a corrupt stream")
        flags, n = head[3], 10
        if flags & _FEXTRA:
            n += 2 + struct.unpack("<H", self._fill(n + 2, "a member header")[n:])[0]
        for flag in (_FNAME, _FCOMMENT):
            if flags & flag:
                while (end := self._in.find(b"\x00", self._pos + n)) < 0:
                    self._fill(len(self._in) - self._pos + 1, "a member header")
                n = end - self._pos + 1
        n += 2 if flags & _FHCRC else 0
        self._fill(n, "a member header")
        self._pos += n

    def _deflate(self, bits: int, partial: int, window: bytes, crc: int, size: int) -> Iterator[bytes]:
        z = _ZStream()
        lib = _libz()
        if lib.inflateInit2_(ctypes.byref(z), -15, lib.zlibVersion(), ctypes.sizeof(_ZStream)) != _Z_OK:
            raise MemoryError("zlib could not start an inflate")
        try:
            if bits:
                lib.inflatePrime(ctypes.byref(z), bits, partial >> (8 - bits))
            if window:
                lib.inflateSetDictionary(ctypes.byref(z), window, len(window))
            out = ctypes.create_string_buffer(self._out_step)
            while True:
                if self._pos == len(self._in) and not self._more():
                    raise GzipError(
                        f"the gzip stream is truncated in deflate data at compressed byte {self.compressed}"
                    )
                held = self._in  # alive while zlib reads it
                base = ctypes.cast(ctypes.c_char_p(held), ctypes.c_void_p).value or 0
                z.next_in, z.avail_in = base + self._pos, len(held) - self._pos
                z.next_out, z.avail_out = ctypes.addressof(out), self._out_step
                ret = lib.inflate(ctypes.byref(z), _Z_BLOCK)
                self._pos = len(held) - z.avail_in
                if ret not in (_Z_OK, _Z_STREAM_END, _Z_BUF_ERROR):
                    why = (z.msg or b"").decode(errors="replace") or f"zlib error {ret}"
                    raise GzipError(f"corrupt gzip data near compressed byte {self.compressed}: {why}")
                produced = self._out_step - z.avail_out
                if produced:
                    piece = ctypes.string_at(out, produced)
                    crc, size = zlib.crc32(piece, crc), size + produced
                    self._recent.append((self.decompressed, piece))
                    self.decompressed += produced
                    yield piece
                if ret == _Z_STREAM_END:
                    break
                if z.data_type & 128 and not z.data_type & 64:  # a block boundary, not the last block's end
                    self._points.append(
                        AccessPoint(self.compressed, z.data_type & 7, self.decompressed, b"", crc, size, True)
                    )
        finally:
            lib.inflateEnd(ctypes.byref(z))
        want_crc, want_size = struct.unpack("<II", self._fill(8, "a member trailer"))
        if (want_crc, want_size) != (crc, size & 0xFFFFFFFF):
            raise GzipError(
                f"the gzip member ending at compressed byte {self.compressed + 8} fails its CRC-32 or length check"
            )
        self._pos += 8

    # -- access points ----------------------------------------------------------------------
    def release(self, consumed: int) -> None:
        """Let go of points and output that no stop at or after `consumed` can need."""
        points = self._points
        while len(points) > 1 and points[1].decompressed <= consumed:
            points.popleft()
        keep_from = points[0].decompressed - WINDOW
        recent = self._recent
        while recent and recent[0][0] + len(recent[0][1]) <= keep_from:
            recent.popleft()

    def point_at(self, stop: int) -> AccessPoint:
        """The last point at or before decompressed offset `stop`, with its window."""
        self.release(stop)
        point = self._points[0]
        if point is self._start or not point.in_member:
            return point
        begin = max(point.decompressed - WINDOW, point.decompressed - point.member_size)
        window = self._output(begin, point.decompressed)
        return AccessPoint(
            point.compressed, point.bits, point.decompressed, window, point.member_crc, point.member_size, True
        )

    def _output(self, begin: int, end: int) -> bytes:
        parts = [
            piece[max(begin - at, 0) : end - at] for at, piece in self._recent if at < end and at + len(piece) > begin
        ]
        data = b"".join(parts)
        if len(data) != end - begin:
            raise AssertionError(f"decompressed bytes {begin}-{end} were let go too early")  # a bug, not bad input
        return data
