"""Bytes mode takes any bytes: compressed or binary uploads pass through exactly."""

from __future__ import annotations

import gzip
import random

import pytest

from .conftest import Harness, finished_run


@pytest.mark.parametrize(
    "data",
    [
        gzip.compress(random.Random(5).randbytes(5000), mtime=0),
        b"\x00" * 3000,
        "utf-16 text".encode("utf-16"),
        b"\xff\xfe\xfd" * 999,
    ],
    ids=["gzip", "zeros", "utf-16", "high-bytes"],  # the same ids in every process (pytest-xdist)
)
def test_binary_passes_through_unchanged(h: Harness, data: bytes) -> None:
    out = finished_run(h, data)
    assert out.output == data
    chunk = h.cfg.bytes_chunk_size
    assert (out.records, out.bad_records) == (-(-len(data) // chunk), 0)
    assert out.result["n"] == out.records  # the framework's own process.py counts the chunks it passed
