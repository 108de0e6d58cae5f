"""The bytes reader: fixed chunks, the last one shorter, offsets on chunk boundaries."""

from __future__ import annotations

import dataclasses
import os
import tracemalloc

import pytest

from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.records import MODE, OUTPUT_EXT, RecordReader, encode_output

from .harness import assert_resumable, read_all

CFG = Config(input_prefix="in/")


def test_mode() -> None:
    assert (MODE, OUTPUT_EXT) == ("bytes", ".bin")


@pytest.mark.parametrize("size", [1, 3, 10, 64, 1000])
@pytest.mark.parametrize("chunk", [1, 7, 10, 4096])
@pytest.mark.parametrize("length", [0, 1, 9, 10, 11, 100, 1000])
def test_fixed_chunks(size: int, chunk: int, length: int) -> None:
    cfg = dataclasses.replace(CFG, bytes_chunk_size=size)
    data = os.urandom(length)
    res = read_all(data, cfg, chunk=chunk, batch=3)
    assert b"".join(res.records) == data
    assert all(len(r) == size for r in res.records[:-1])
    if data:
        assert 0 < len(res.records[-1]) <= size
    assert res.bad == []
    for offset, *_ in res.boundaries[:-1]:
        assert offset % size == 0
    assert res.boundaries[-1][0] == length
    assert_resumable(data, cfg, res, chunk=chunk, batch=3)


def test_out_of_time_still_makes_progress() -> None:
    from {{ cookiecutter.__package_name }}.records import RecordReader

    cfg = dataclasses.replace(CFG, bytes_chunk_size=4)
    reader = RecordReader(iter([b"abcdefghij"]), 0, 0, {}, cfg)
    batch = reader.read_batch(100, lambda: True)
    assert batch.records == [b"abcd"]
    assert batch.offset == 4
    assert not batch.eof


def test_output_is_the_concatenation() -> None:
    assert encode_output([b"ab", bytearray(b"cd"), memoryview(b"ef"), b""]) == b"abcdef"


def test_output_items_must_be_bytes() -> None:
    with pytest.raises(TypeError, match="must return bytes items, got str"):
        encode_output([b"ok", "text"])


def test_small_records_from_big_reads_copy_each_byte_once() -> None:
    """1 KiB records from one 8 MiB read: memory stays at the read plus a record (copying the rest
    of the read per record would hold two reads at once, and copy it 8192 times)."""
    data = os.urandom(8 << 20)
    cfg = dataclasses.replace(Config.from_env({}), bytes_chunk_size=1024)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        reader = RecordReader(iter([data]), 0, 0, {}, cfg)
        taken = 0
        while not (batch := reader.read_batch(64, lambda: False)).eof:
            taken += sum(len(r) for r in batch.records)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert taken + sum(len(r) for r in batch.records) == len(data)
    assert peak < (1 << 20), f"peak {peak} bytes over the read itself"
