"""Bytes mode takes any bytes: binary uploads pass through exactly, gzip ones decompressed, and
compressed formats a hop cannot resume inside are refused before anything is read."""

from __future__ import annotations

import bz2
import gzip
import lzma
import random
from dataclasses import replace

import pytest

from tests.unit.harness import as_plain

from .conftest import Harness, failed_run, finished_run


@pytest.mark.parametrize(
    "data",
    [
        b"\x00" * 3000,
        "utf-16 text".encode("utf-16"),
        b"\xff\xfe\xfd" * 999,
    ],
    ids=["zeros", "utf-16", "high-bytes"],  # the same ids in every process (pytest-xdist)
)
def test_binary_passes_through_unchanged(h: Harness, data: bytes) -> None:
    out = finished_run(h, data)
    assert out.output == data
    chunk = h.cfg.bytes_chunk_size
    assert (out.records, out.bad_records) == (-(-len(data) // chunk), 0)
    assert out.result["n"] == out.records  # the framework's own process.py counts the chunks it passed


def test_a_gzip_upload_is_decompressed(h: Harness) -> None:
    plain = random.Random(5).randbytes(5000) * 3
    assert as_plain(finished_run(h, gzip.compress(plain, mtime=0))) == replace(finished_run(h, plain), hops=0)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (bz2.compress(b"x" * 1000), "bzip2-compressed data"),
        (lzma.compress(b"x" * 1000), "xz-compressed data"),
        (b"\x28\xb5\x2f\xfd" + bytes(40), "zstd-compressed data"),
        (b"PK\x03\x04" + bytes(40), "a ZIP archive (or an .xlsx/.docx file)"),
    ],
    ids=["bzip2", "xz", "zstd", "zip"],
)
def test_compression_that_cannot_resume_is_refused_at_hop_0(h: Harness, data: bytes, what: str) -> None:
    status = failed_run(h, data)
    assert status["error_type"] == "InputFormatError"
    assert f"the object is {what}; this function decompresses gzip only" in status["error"]
    assert status["hop"] == 0 and status["offset"] == 0
