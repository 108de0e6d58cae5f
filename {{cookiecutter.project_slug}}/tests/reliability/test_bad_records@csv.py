"""Bad CSV input: each case has one exact outcome, and nothing good is lost."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest

from tests.unit.harness import as_plain

from {{ cookiecutter.__package_name }}.guard import NoProgressError

from .conftest import Harness, failed_run, finished_run, raw_of


def rows(output: bytes) -> list[dict[str, str]]:
    return [json.loads(line) for line in output.splitlines()]


def test_ragged_rows_are_quarantined_with_line_and_offset(h: Harness) -> None:
    data = b"id,name\r\n1,a\r\n2,b,extra\r\n3\r\n4,d\r\n"
    out = finished_run(h, data)
    assert rows(out.output) == [{"id": "1", "name": "a"}, {"id": "4", "name": "d"}]
    assert (out.records, out.bad_records, out.output_items) == (2, 2, 2)
    assert [(b["line"], b["offset"], b["length"], b["reason"]) for b in out.bad] == [
        (3, 14, 11, "has 3 fields, the header has 2"),
        (4, 25, 3, "has 1 fields, the header has 2"),
    ]
    assert [raw_of(b) for b in out.bad] == [b"2,b,extra\r\n", b"3\r\n"]


def test_unclosed_quote_at_the_end_of_the_object(h: Harness) -> None:
    data = b'id,name\n1,a\n2,"never closed\n3,c\n'
    out = finished_run(h, data)
    assert rows(out.output) == [{"id": "1", "name": "a"}]
    assert (out.records, out.bad_records) == (1, 1)
    (bad,) = out.bad
    assert (bad["line"], bad["offset"], bad["length"]) == (3, 12, len(data) - 12)
    assert bad["reason"] == "unclosed quote: the quoted field never ends before the end of the object"
    assert raw_of(bad) == b'2,"never closed\n3,c\n'


def test_invalid_utf8_row(h: Harness) -> None:
    data = b"id,name\n1,caf\xe9\n2,b\n"
    out = finished_run(h, data)
    assert rows(out.output) == [{"id": "2", "name": "b"}]
    assert [(b["line"], b["offset"], b["length"], b["reason"]) for b in out.bad] == [(2, 8, 7, "invalid UTF-8")]


def test_header_only(h: Harness) -> None:
    out = finished_run(h, b"id,name\r\n")
    assert (out.records, out.bad_records, out.output_items, out.output, out.bad) == (0, 0, 0, b"", [])


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (gzip.compress(gzip.compress(b"id,name\n1,a\n", mtime=0), mtime=0), "gzip-compressed data, not CSV"),
        (b"PK\x03\x04" + bytes(40), "a ZIP archive (or an .xlsx/.docx file); this function decompresses gzip only"),
        ("id,name\n1,a\n".encode("utf-16"), "UTF-16"),
        ("id,name\n1,a\n".encode("utf-16-le"), "NUL bytes"),
    ],
)
def test_binary_upload_fails_the_run_clearly(h: Harness, data: bytes, what: str) -> None:
    status = failed_run(h, data)
    assert status["error_type"] == "InputFormatError"
    assert what in status["error"]
    assert status["hop"] == 0 and status["offset"] == 0


def test_a_gzip_upload_is_read_decompressed(h: Harness) -> None:
    plain = b'id,name\n1,a\n2,"b\nc"\n3\n'
    assert as_plain(finished_run(h, gzip.compress(plain, mtime=0))) == replace(finished_run(h, plain), hops=0)


def test_row_longer_than_max_record_bytes(h: Harness) -> None:
    h.configure(max_record_bytes=1024)
    data = b'id,name\n1,a\n2,"' + b"x" * 10_000 + b'"\n3,c\n'
    status = failed_run(h, data)
    assert status["error_type"] == "RecordTooLargeError"
    assert "line 3 (byte offset 12) is longer than MAX_RECORD_BYTES (1024 bytes)" in status["error"]


def test_record_larger_than_one_hop_can_read_trips_the_no_progress_guard(h: Harness) -> None:
    """A row that needs more time than a hop has: MAX_STALLED_HOPS hops in a row end where they
    began, and the run ends with NoProgressError instead of recursing forever."""
    h.configure(max_stalls=3, read_chunk_bytes=4096)
    data = b"id,name\n1,a\n2," + b"y" * 200_000 + b"\n3,c\n"
    status = failed_run(h, data, budget=6)
    assert status["error_type"] == NoProgressError.__name__
    assert "made no progress in 3 hops in a row: still at byte 12" in status["error"]
    assert status["records"] == 1  # row 1 was committed before the stalls
