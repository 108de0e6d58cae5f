"""The JSON Lines reader: blank lines, bad lines, line ends, BOM, long lines, exact integers."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json

import pytest

from {{ cookiecutter.__package_name }}.batch import InputFormatError
from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.records import MODE, OUTPUT_EXT, encode_output

from .harness import assert_resumable, read_all

CFG = Config(input_prefix="in/")


def test_mode() -> None:
    assert (MODE, OUTPUT_EXT) == ("jsonl", ".jsonl")


@pytest.mark.parametrize("chunk", [1, 3, 7, 4096])
@pytest.mark.parametrize("batch", [1, 2, 50])
def test_blank_and_whitespace_lines_are_skipped_not_bad(chunk: int, batch: int) -> None:
    data = b'{"a":1}\n\n   \n\t\r\n[2]\n \n"three"\n'
    res = read_all(data, CFG, chunk=chunk, batch=batch)
    assert res.records == [{"a": 1}, [2], "three"]
    assert res.bad == []
    assert res.boundaries[-1][:2] == (len(data), 7)
    assert_resumable(data, CFG, res, chunk=chunk, batch=batch)


@pytest.mark.parametrize("chunk", [2, 5, 4096])
def test_bad_lines_have_line_offset_and_reason(chunk: int) -> None:
    data = b'{"ok":1}\n{bad json\n\n[1,2,]\n"\xff\xfe"\n{"ok":2}\ntrue false\n'
    res = read_all(data, CFG, chunk=chunk, batch=2)
    assert res.records == [{"ok": 1}, {"ok": 2}]
    assert [(b.line, b.offset, b.length, b.raw) for b in res.bad] == [
        (2, 9, 9, b"{bad json"),
        (4, data.index(b"[1,2,]"), 6, b"[1,2,]"),
        (5, data.index(b'"\xff'), 4, b'"\xff\xfe"'),
        (7, data.index(b"true false"), 10, b"true false"),
    ]
    assert res.bad[0].reason.startswith("invalid JSON")
    assert "invalid UTF-8" in res.bad[2].reason
    assert_resumable(data, CFG, res, chunk=chunk, batch=2)


@pytest.mark.parametrize("chunk", [1, 4096])
def test_missing_final_newline(chunk: int) -> None:
    data = b'{"a":1}\n{"a":2}'
    res = read_all(data, CFG, chunk=chunk, batch=1)
    assert res.records == [{"a": 1}, {"a": 2}]
    assert res.boundaries[-1][0] == len(data)


def test_missing_final_newline_on_a_bad_line() -> None:
    data = b'{"a":1}\n{"a":'
    res = read_all(data, CFG)
    assert [(b.line, b.offset, b.raw) for b in res.bad] == [(2, 8, b'{"a":')]


def test_crlf() -> None:
    data = b'{"a":1}\r\n\r\n{"a":"x\\r\\ny"}\r\n{bad\r\n'
    res = read_all(data, CFG, chunk=3)
    assert res.records == [{"a": 1}, {"a": "x\r\ny"}]
    assert [(b.line, b.offset) for b in res.bad] == [(4, data.index(b"{bad"))]


def test_bom() -> None:
    data = b'\xef\xbb\xbf{"a":1}\n{"b":2}\n'
    for chunk in (1, 2, 4096):
        res = read_all(data, CFG, chunk=chunk, batch=1)
        assert res.records == [{"a": 1}, {"b": 2}]
        assert res.bad == []
        assert_resumable(data, CFG, res, chunk=chunk, batch=1)


def test_bom_only_at_the_start() -> None:
    data = b'{"a":1}\n\xef\xbb\xbf{"b":2}\n'
    res = read_all(data, CFG)
    assert res.records == [{"a": 1}]
    assert [b.line for b in res.bad] == [2]


def test_multibyte_characters_across_every_chunk_boundary() -> None:
    values = [{"s": "é€𝄞日本" * i, "i": i} for i in range(10)]
    data = "\n".join(json.dumps(v, ensure_ascii=False) for v in values).encode()
    for chunk in range(1, 12):
        res = read_all(data, CFG, chunk=chunk, batch=3)
        assert res.records == values, chunk
        assert res.bad == []


@pytest.mark.parametrize("chunk", [8, 4096])
def test_line_longer_than_max_record_bytes_is_quarantined_and_reading_goes_on(chunk: int) -> None:
    cfg = dataclasses.replace(CFG, max_record_bytes=1024, quarantine_raw_bytes=16)
    long_line = b'{"x":"' + b"y" * 5000 + b'"}'
    data = b'{"a":1}\n' + long_line + b'\n{"a":2}\n' + long_line + b"\n\n" + long_line
    res = read_all(data, cfg, chunk=chunk, batch=2)
    assert res.records == [{"a": 1}, {"a": 2}]
    assert [(b.line, b.offset, b.length) for b in res.bad] == [
        # the length of a bad line never counts its newline, however the line was framed
        (2, 8, len(long_line)),
        (4, data.index(long_line, 20), len(long_line)),
        (6, len(data) - len(long_line), len(long_line)),
    ]
    assert all(b.raw == long_line[:16] for b in res.bad)
    assert all("MAX_RECORD_BYTES" in b.reason for b in res.bad)
    assert res.boundaries[-1][0] == len(data)
    assert_resumable(data, cfg, res, chunk=chunk, batch=2)


@pytest.mark.parametrize("newline_at_end", [True, False])
def test_skipping_an_over_long_line_checks_the_clock_and_resumes(newline_at_end: bool) -> None:
    """A line far longer than MAX_RECORD_BYTES (a pretty-printed array, a file with no newline) is
    skipped a bit per clock check, and a reader resumed from where one stopped mid-skip (offset and
    context, as a checkpoint keeps them) finishes it: the same quarantine as in one go."""
    from {{ cookiecutter.__package_name }}.records import RecordReader

    from .harness import chunked

    cfg = dataclasses.replace(CFG, max_record_bytes=1024, quarantine_raw_bytes=40)
    long_line = b'[{"x": ' + b"1, " * 30_000 + b"2}]"
    data = b'{"a":1}\n' + long_line + (b'\n{"a":2}\n' if newline_at_end else b"")
    full = read_all(data, cfg, chunk=4096, batch=5)
    records, bad, stops = [], [], []
    offset, line, context = 0, 0, {}
    for _ in range(1000):
        reader = RecordReader(chunked(data[offset:], 4096), offset, line, dict(context), cfg)
        ticks = itertools.count()
        batch = reader.read_batch(5, lambda ticks=ticks: next(ticks) >= 3)  # out of time after 3 clock checks
        records += batch.records
        bad += batch.bad
        stops.append(batch.offset)
        offset, line, context = batch.offset, batch.line, dict(reader.context)
        if batch.eof:
            break
    assert (records, bad) == (full.records, full.bad)
    assert [(b.line, b.offset, b.length, b.raw) for b in bad] == [(2, 8, len(long_line), long_line[:40])]
    assert len(stops) > 5, "the skip was spread over many readers (hops)"
    assert all(b - a <= 4 * 4096 for a, b in itertools.pairwise(stops)), "each read stopped on time"
    assert "skipping" not in context


def test_integers_beyond_64_bits_are_exact() -> None:
    big = 123456789012345678901234567890
    obj = '{"n":' + str(big) + ',"m":-' + str(big) + "}"
    data = (obj + f"\n[18446744073709551616]\n[1.5e300, 0.1234567890123456789012]\n{2**63 - 1}\n").encode()
    res = read_all(data, CFG)
    assert res.records == [{"n": big, "m": -big}, [2**64], [1.5e300, 0.1234567890123456789012], 2**63 - 1]
    assert isinstance(res.records[0]["n"], int)
    assert encode_output(res.records[:2]) == (obj + f"\n[{2**64}]\n").encode()


@pytest.mark.parametrize("line", [b"NaN", b"[Infinity]", b'{"a":-Infinity}', b"[NaN, 12345678901234567890123]"])
def test_nan_and_infinity_are_bad(line: bytes) -> None:
    res = read_all(b"[1]\n" + line + b"\n", CFG)
    assert res.records == [[1]]
    assert [b.line for b in res.bad] == [2]


@pytest.mark.parametrize("line", [b"[1e400]", b"[1e400, 12345678901234567890123]"])
def test_numbers_that_overflow_a_double_are_bad_whichever_parser_reads_them(line: bytes) -> None:
    """Otherwise json.loads (used for long integers) turns 1e400 into inf, which cannot be written out."""
    res = read_all(b"[1]\n" + line + b"\n", CFG)
    assert res.records == [[1]]
    assert [b.line for b in res.bad] == [2]


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (gzip.compress(b'{"a":1}\n', mtime=0), "gzip"),
        (b"PK\x03\x04rest", "ZIP"),
        ('{"a":1}\n'.encode("utf-16-le"), "NUL"),
        ('{"a":1}\n'.encode("utf-16"), "UTF-16"),
    ],
)
def test_not_json_lines_at_all(data: bytes, what: str) -> None:
    with pytest.raises(InputFormatError, match=what):
        read_all(data, CFG, chunk=CFG.read_chunk_bytes)


def test_a_nul_byte_in_an_early_line_quarantines_that_line() -> None:
    """A NUL in the first 8 KiB is no proof that the object is binary: that line is bad, not all."""
    data = b'{"a":1}\n{"a":\x00}\n{"a":2}\n'
    res = read_all(data, CFG, chunk=CFG.read_chunk_bytes)
    assert res.records == [{"a": 1}, {"a": 2}]
    assert [(b.line, b.offset) for b in res.bad] == [(2, 8)]


def test_lone_surrogates_are_bad_whatever_else_the_line_holds() -> None:
    """A lone surrogate cannot be written as UTF-8, so it is a bad line, also on a line whose long
    integer sends it down the exact parser."""
    data = b'{"s":"\\ud800"}\n{"s":"\\ud800","n":12345678901234567890}\n{"s":"\\ud83d\\ude00"}\n'
    res = read_all(data, CFG, chunk=CFG.read_chunk_bytes)
    assert res.records == [{"s": "\U0001f600"}]
    assert [b.line for b in res.bad] == [1, 2]
    assert all("surrogate" in b.reason or "invalid JSON" in b.reason for b in res.bad)


def test_empty_object() -> None:
    res = read_all(b"", CFG)
    assert (res.records, res.bad) == ([], [])
    assert res.boundaries == [(0, 0, {}, 0, 0)]


def test_encode_output() -> None:
    assert (
        encode_output([{"a": "é"}, 2**70, None, [1.5]]) == '{"a":"é"}\n1180591620717411303424\nnull\n[1.5]\n'.encode()
    )
