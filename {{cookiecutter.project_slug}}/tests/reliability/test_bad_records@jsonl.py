"""Bad JSON Lines input: each case has one exact outcome, and nothing good is lost."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest

from tests.unit.harness import as_plain

from {{ cookiecutter.__package_name }}.guard import NoProgressError

from .conftest import Harness, failed_run, finished_run, raw_of


def test_invalid_json_and_invalid_utf8_lines(h: Harness) -> None:
    data = b'{"id":1}\n{"id": \n[1,2]\n\xff\xfe\n\n   \n{"id":3}'
    out = finished_run(h, data)
    # The framework's own process.py (devtools.passthrough) passes every record through.
    assert [json.loads(x) for x in out.output.splitlines()] == [{"id": 1}, [1, 2], {"id": 3}]
    assert (out.records, out.bad_records, out.output_items) == (3, 2, 3)
    got = [(b["line"], b["offset"], b["length"], b["reason"].split(":")[0]) for b in out.bad]
    assert got == [(2, 9, 7, "invalid JSON"), (4, 23, 2, "invalid UTF-8 at byte 0 of the line")]
    assert [raw_of(b) for b in out.bad] == [b'{"id": ', b"\xff\xfe"]


def test_blank_lines_only(h: Harness) -> None:
    out = finished_run(h, b"\n  \n\t\n")
    assert (out.records, out.bad_records, out.output) == (0, 0, b"")


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (gzip.compress(gzip.compress(b'{"a":1}\n', mtime=0), mtime=0), "gzip-compressed data"),
        (b"\x89PNG\r\n\x1a\n" + bytes(20), "a PNG image"),
    ],
)
def test_binary_upload_fails_the_run_clearly(h: Harness, data: bytes, what: str) -> None:
    status = failed_run(h, data)
    assert status["error_type"] == "InputFormatError"
    assert what in status["error"] and "not JSON Lines text" in status["error"]


def test_line_longer_than_max_record_bytes_is_quarantined(h: Harness) -> None:
    h.configure(max_record_bytes=1024)
    long = b'{"big": "' + b"z" * 10_000 + b'"}'
    data = b'{"id":1}\n' + long + b'\n{"id":2}\n'
    out = finished_run(h, data)
    assert out.output_items == 2 and out.records == 2
    (bad,) = out.bad
    assert (bad["line"], bad["offset"], bad["length"]) == (2, 9, len(long))
    assert bad["reason"] == "line longer than MAX_RECORD_BYTES (1024)"
    assert bad["raw_truncated"] is True


def test_record_larger_than_one_hop_can_read_trips_the_no_progress_guard(h: Harness) -> None:
    h.configure(max_stalls=3, read_chunk_bytes=4096)
    data = b'{"id":1}\n{"big": "' + b"q" * 200_000 + b'"}\n{"id":2}\n'
    status = failed_run(h, data, budget=6)
    assert status["error_type"] == NoProgressError.__name__
    assert "made no progress in 3 hops in a row: still at byte 9" in status["error"]


def test_max_record_bytes_does_not_depend_on_where_the_line_falls(h: Harness) -> None:
    h.configure(max_record_bytes=1024, read_chunk_bytes=4096)
    long = b'{"big": "' + b"z" * 2000 + b'"}\n'
    first = finished_run(h, long + b'{"id":1}\n')  # the long line inside the first chunk
    pad = b'{"pad": 1234567}\n' * 200  # 3400 bytes of short lines: the long one straddles 4096
    second = finished_run(h, pad + long + b'{"id":1}\n')  # the same line across the chunk boundary
    assert first.bad_records == second.bad_records == 1
    assert [(b["reason"], b["length"]) for b in first.bad] == [(b["reason"], b["length"]) for b in second.bad]


def test_a_gzip_upload_is_read_decompressed(h: Harness) -> None:
    plain = b'{"a":1}\nnot json\n{"b":[2]}\n'
    assert as_plain(finished_run(h, gzip.compress(plain, mtime=0))) == replace(finished_run(h, plain), hops=0)
