"""Gzip inflated with access points: a chain of hops, each resuming from the point the last one
stopped at, gives exactly what gzip.decompress gives, for any content, compression level, member
split, read size, output step and stops; bad streams fail naming the compressed offset."""

from __future__ import annotations

import gzip
import io
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.soak import gzip_members

from {{ cookiecutter.__package_name }}.inflate import (
    START,
    AccessPoint,
    GzipError,
    Inflater,
)


def chunks_of(data: bytes, start: int, size: int) -> Iterator[bytes]:
    for at in range(start, len(data), size):
        yield data[at : at + size]


def text(rng: random.Random, size: int) -> bytes:
    """Compressible lines with incompressible stretches (which deflate stores as raw blocks)."""
    words = [bytes(rng.choice(b'abcdefghij ,\n"') for _ in range(rng.randint(1, 12))) for _ in range(200)]
    out = bytearray()
    while len(out) < size:
        out += rng.randbytes(rng.randint(1, 3000)) if rng.random() < 0.02 else rng.choice(words)
    return bytes(out[:size])


def chain(compressed: bytes, size: int, stops: list[int], read: int, out_step: int) -> tuple[bytes, int]:
    """Hops that each read from the last one's access point to their stop; the output and how many
    hops resumed inside a member (from a block boundary, not a member's start)."""
    point, offset, got, inside = START, 0, [], 0
    for stop in [*sorted({min(s, size) for s in stops}), size]:
        inflater = Inflater(chunks_of(compressed, point.read_from, read), point, out_step)
        have = offset
        for piece in inflater.chunks(offset):
            take = piece[: stop - have] if stop < size else piece
            got.append(take)
            have += len(take)
            inflater.release(have - len(take))  # what a reader has consumed lags what it was handed
            if have >= stop and stop < size:
                break
        assert have == stop
        if stop == size:
            break
        point = inflater.point_at(stop)
        assert point.decompressed <= stop
        inside += point.in_member
        offset = stop
    return b"".join(got), inside


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    size=st.integers(0, 600_000),
    cuts=st.lists(st.integers(0, 600_000), max_size=3),
    levels=st.lists(st.integers(0, 9), min_size=1, max_size=3),
    stops=st.lists(st.integers(0, 600_000), max_size=8),
    read=st.sampled_from([1, 7, 4096, 65536, 1 << 20]),
    out_step=st.sampled_from([1, 1000, 65536, 262144]),
)
def test_a_chain_of_hops_equals_gzip_decompress(
    seed: int, size: int, cuts: list[int], levels: list[int], stops: list[int], read: int, out_step: int
) -> None:
    plain = text(random.Random(seed), size)
    compressed = gzip_members(plain, cuts, levels)
    if len(compressed) > 20_000:  # byte-at-a-time reads and output only where they stay quick
        read, out_step = max(read, 4096), max(out_step, 1000)
    assert chain(compressed, len(plain), stops, read, out_step)[0] == plain == gzip.decompress(compressed)


def test_hops_resume_inside_members_from_block_boundaries() -> None:
    rng = random.Random(7)
    plain = text(rng, 5_000_000)
    compressed = gzip_members(plain, [1_000_000, 3_333_333], [6, 1, 9])
    out, inside = chain(compressed, len(plain), rng.sample(range(len(plain)), 40), 65536, 262144)
    assert out == plain
    assert inside == 40


def test_a_point_needs_only_the_bytes_from_its_boundary() -> None:
    """What a resumed hop reads starts at the point's byte, and the window is at most 32 KiB."""
    plain = text(random.Random(3), 2_000_000)
    compressed = gzip.compress(plain)
    first = Inflater(chunks_of(compressed, 0, 65536))
    for _ in first.chunks(0):
        if first.decompressed > 1_500_000:
            break
    point = first.point_at(1_200_000)
    assert point.in_member and 0 < len(point.window) <= 32 * 1024
    tail = compressed[point.read_from :]
    again = Inflater(iter([tail]), point)
    assert b"".join(again.chunks(1_200_000)) == plain[1_200_000:]


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 9, 10, 11, 100, 5000, -9, -8, -5, -1])
def test_a_truncated_stream_names_the_compressed_offset(cut: int) -> None:
    compressed = gzip.compress(text(random.Random(1), 100_000))[:cut]
    with pytest.raises(GzipError, match=r"truncated in .* at compressed byte \d+"):
        b"".join(Inflater(chunks_of(compressed, 0, 4096)).chunks(0))


def test_every_flipped_bit_is_caught() -> None:
    plain = text(random.Random(2), 200_000)
    compressed = gzip.compress(plain)
    rng = random.Random(3)
    for _ in range(200):
        bad = bytearray(compressed)
        at = rng.randrange(10, len(bad))  # past the header's mtime/xfl/os, which nothing checks
        bad[at] ^= 1 << rng.randrange(8)
        with pytest.raises(GzipError, match="compressed byte"):
            b"".join(Inflater(chunks_of(bytes(bad), 0, 4096)).chunks(0))


def test_nul_padding_after_the_last_member_is_allowed_other_trailing_data_is_not() -> None:
    compressed = gzip.compress(b"hello\n")
    assert b"".join(Inflater(iter([compressed + b"\x00" * 100])).chunks(0)) == b"hello\n"
    for trailing in (b"garbage", b"\x1f\x8b\x07", b"PK\x03\x04"):
        with pytest.raises(GzipError, match=f"no gzip member starts at compressed byte {len(compressed)}"):
            b"".join(Inflater(iter([compressed + trailing])).chunks(0))


def test_optional_header_fields_are_skipped() -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="orders.csv", mode="wb", fileobj=buf, mtime=0) as f:
        f.write(b"x,y\n" * 1000)
    compressed = buf.getvalue()
    assert compressed[3] & 8  # FNAME
    assert b"".join(Inflater(chunks_of(compressed, 0, 3)).chunks(0)) == b"x,y\n" * 1000


def test_a_highly_compressible_object_comes_out_in_bounded_pieces() -> None:
    compressed = gzip.compress(b"\x00" * 200_000_000, 9)  # ~200 KB
    sizes = [len(p) for p in Inflater(iter([compressed]), out_step=1 << 20).chunks(0)]
    assert sum(sizes) == 200_000_000
    assert max(sizes) < 2 << 20  # inflated 1 MiB at a time, handed out in pieces of 1-2 MiB


def test_an_empty_object_and_an_empty_member() -> None:
    assert b"".join(Inflater(iter([])).chunks(0)) == b""
    assert b"".join(Inflater(iter([gzip.compress(b"")])).chunks(0)) == b""
    assert AccessPoint(10, 3).read_from == 9
