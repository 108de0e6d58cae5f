"""What the record reader reads: the object's bytes, or, for a gzip object, their decompression.

Whether an object is gzip is decided once, from its first bytes, by the hop that starts at offset
0 (whatever the key says); from then on the checkpoint carries an access point (inflate.py) for
gzip and none for plain bytes. Offsets, lines and records then refer to the decompressed stream,
and a hop resumes inflating at the point its predecessor committed: never from the start.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from .batch import InputFormatError
from .inflate import GZIP_MAGIC, START, AccessPoint, Inflater
from .source import ObjectSource

# Compressed formats this function cannot resume inside: refused at offset 0, in every mode.
OTHER_COMPRESSION = (
    (b"PK\x03\x04", "a ZIP archive (or an .xlsx/.docx file)"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
)
_SNIFF = 6  # bytes enough to tell every format above
GZIP_DEFLATE = GZIP_MAGIC + b"\x08"  # the only compression method gzip defines
COMPRESSED = (GZIP_DEFLATE, *(magic for magic, _ in OTHER_COMPRESSION))  # what is not read as it is


def sniff(head: bytes) -> bool:
    """True for gzip; raises for a compressed format that is not supported; False for the rest."""
    if head.startswith(GZIP_DEFLATE):
        return True
    for magic, what in OTHER_COMPRESSION:
        if head.startswith(magic):
            raise InputFormatError(
                f"the object is {what}; this function decompresses gzip only (a hop resumes inside a gzip "
                "stream, which it cannot do for this format): recompress it with gzip, or decompress it, "
                "before uploading"
            )
    return False


class DecodedSource:
    """The bytes a hop's records come from, from a decompressed `offset`; for gzip, inflated from
    `point` (None: plain, unless the hop starts at 0 and the object turns out to be gzip)."""

    def __init__(self, source: ObjectSource, point: AccessPoint | None) -> None:
        self.source = source
        self.point = point
        self._inflater: Inflater | None = None

    @property
    def compressed(self) -> bool:
        """Whether the object turned out to be gzip (known once its first bytes were read)."""
        return self.point is not None or self._inflater is not None

    @property
    def setup_ms(self) -> float:
        return self.source.setup_ms

    def chunks(self, offset: int) -> Iterator[bytes]:
        if self.point is not None:
            return self._inflated(self.source.chunks(self.point.read_from), self.point, offset)
        if offset:
            return self.source.chunks(offset)
        return self._sniffed(self.source.chunks(0))

    def _sniffed(self, raw: Iterator[bytes]) -> Iterator[bytes]:
        head = b""
        for chunk in raw:
            head += chunk
            if len(head) >= _SNIFF:
                break
        if sniff(head):
            self.point = START
            yield from self._inflated(chain([head], raw), START, 0)
        else:
            if head:
                yield head
            yield from raw

    def _inflated(self, raw: Iterator[bytes], point: AccessPoint, offset: int) -> Iterator[bytes]:
        self._inflater = Inflater(raw, point, self.source.chunk_size)
        return self._inflater.chunks(offset)

    def release(self, consumed: int) -> None:
        """The reader has consumed up to `consumed`: what lies before it is never a stop."""
        if self._inflater is not None:
            self._inflater.release(consumed)

    def stop_at(self, stop: int) -> AccessPoint | None:
        """The hop stops at `stop`: leave in the container cache what the next hop reads first, and
        return where it resumes inflating (None for a plain object)."""
        # Nothing inflated this hop: the point it was given (or None) still holds.
        point = self.point if self._inflater is None else self._inflater.point_at(stop)
        self.source.keep_tail(stop if point is None else point.read_from)
        return point

    def where(self) -> dict[str, int]:
        """What a quarantined record of this hop notes besides its decompressed offset and line:
        the compressed offset the hop began inflating at (nothing for a plain object)."""
        return {} if self.point is None else {"hop_compressed_offset": self.point.read_from}
