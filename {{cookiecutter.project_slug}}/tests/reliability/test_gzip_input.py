"""A gzip object that is cut short or corrupt: the run commits every batch before the damage, then
fails, naming the compressed offset; nothing after the damage is committed."""

from __future__ import annotations

import gzip

import pytest

from .conftest import Harness, failed_run, sample


@pytest.mark.parametrize("budget", [None, 12])
def test_a_truncated_gzip_fails_after_committing_what_came_before(h: Harness, budget: int | None) -> None:
    plain = sample(400).data
    compressed = gzip.compress(plain, 6)
    status = failed_run(h, compressed[: len(compressed) * 2 // 3], budget=budget)
    assert status["error_type"] == "GzipError"
    assert "the gzip stream is truncated in deflate data at compressed byte" in status["error"]
    assert status["records"] > 0, "the records before the cut were committed"
    assert 0 < status["decompressed_offset"] < len(plain)
    assert status["offset"] <= len(compressed) * 2 // 3  # the offset of a gzip run's status is compressed


def test_a_corrupt_gzip_fails_naming_where(h: Harness) -> None:
    plain = sample(400).data
    compressed = bytearray(gzip.compress(plain, 6))
    compressed[len(compressed) // 2] ^= 0x5A
    status = failed_run(h, bytes(compressed))
    assert status["error_type"] == "GzipError"
    assert "compressed byte" in status["error"]
    assert status["records"] > 0
