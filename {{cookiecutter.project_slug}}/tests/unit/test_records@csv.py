"""The CSV reader: RFC 4180 edge cases, bad rows, framing across chunks, resumable offsets."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import zipfile

import pytest

from {{ cookiecutter.__package_name }}.batch import InputFormatError, RecordTooLargeError
from {{ cookiecutter.__package_name }}.config import Config
from {{ cookiecutter.__package_name }}.records import MODE, OUTPUT_EXT, encode_output

from .harness import assert_resumable, read_all

CFG = Config(input_prefix="in/")


def test_mode() -> None:
    assert (MODE, OUTPUT_EXT) == ("csv", ".jsonl")


def rows(data: bytes, **kw: int) -> list[dict[str, str]]:
    res = read_all(data, CFG, **kw)
    assert res.bad == []
    return res.records


QUOTED = (
    b'id,text,n\r\n1,"a, b",x\r\n2,"say ""hi""",y\r\n3,"line1\nline2",z\r\n4,"crlf\r\ninside",w\r\n'
    b'5,"",""\r\n6,"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e",v\r\n'
)
QUOTED_ROWS = [
    {"id": "1", "text": "a, b", "n": "x"},
    {"id": "2", "text": 'say "hi"', "n": "y"},
    {"id": "3", "text": "line1\nline2", "n": "z"},
    {"id": "4", "text": "crlf\r\ninside", "n": "w"},
    {"id": "5", "text": "", "n": ""},
    {"id": "6", "text": "é€𝄞", "n": "v"},
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64, 4096])
@pytest.mark.parametrize("batch", [1, 2, 100])
def test_quoted_fields(chunk: int, batch: int) -> None:
    res = read_all(QUOTED, CFG, chunk=chunk, batch=batch)
    assert res.bad == []
    assert res.records == QUOTED_ROWS
    assert_resumable(QUOTED, CFG, res, chunk=chunk, batch=batch)


def test_lf_only() -> None:
    assert rows(b'a,b\n1,"x\ny"\n2,3\n') == [{"a": "1", "b": "x\ny"}, {"a": "2", "b": "3"}]


def test_bom_is_not_part_of_the_first_header() -> None:
    data = b"\xef\xbb\xbfid,name\n1,a\n"
    res = read_all(data, CFG, chunk=2, batch=1)
    assert res.records == [{"id": "1", "name": "a"}]
    assert res.boundaries[-1][2] == {"header": ["id", "name"]}
    assert_resumable(data, CFG, res, chunk=2, batch=1)


def test_header_is_carried_to_a_later_offset_by_the_context() -> None:
    data = b"a,b\n1,2\n3,4\n5,6\n"
    at = data.index(b"3,4")
    res = read_all(data, CFG, offset=at, line=2, context={"header": ["a", "b"]})
    assert res.records == [{"a": "3", "b": "4"}, {"a": "5", "b": "6"}]


def test_ragged_rows_are_bad_records_with_line_offset_and_raw_bytes() -> None:
    data = b'h1,h2,h3\n1,2,3\nonly,two\n"q\nx",2,3\n4,5,6,7\n8,9,10\n'
    res = read_all(data, CFG, chunk=5, batch=2)
    assert res.records == [
        {"h1": "1", "h2": "2", "h3": "3"},
        {"h1": "q\nx", "h2": "2", "h3": "3"},
        {"h1": "8", "h2": "9", "h3": "10"},
    ]
    assert [(b.line, b.offset, b.raw) for b in res.bad] == [
        (3, data.index(b"only"), b"only,two\n"),
        (6, data.index(b"4,5,6,7"), b"4,5,6,7\n"),
    ]
    assert all(b.length == len(b.raw) for b in res.bad)
    assert "has 2 fields, the header has 3" in res.bad[0].reason
    assert "has 4 fields" in res.bad[1].reason


def test_last_row_of_a_ragged_file_is_counted_too() -> None:
    data = b"a,b\n1,2\n8,9,10\n"
    res = read_all(data, CFG)
    assert [(b.line, b.offset) for b in res.bad] == [(3, 8)]


def test_blank_lines_are_skipped_but_counted_as_lines() -> None:
    data = b"a,b\n\n1,2\r\n\r\n\n3,4\nx\n"
    res = read_all(data, CFG, chunk=3, batch=1)
    assert res.records == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert [(b.line, b.offset) for b in res.bad] == [(7, data.index(b"x\n"))]
    assert_resumable(data, CFG, res, chunk=3, batch=1)


def test_blank_lines_before_the_header() -> None:
    assert rows(b"\n\r\na,b\n1,2\n") == [{"a": "1", "b": "2"}]


def test_invalid_utf8_row_is_bad_and_the_rest_goes_on() -> None:
    data = b"a,b\n1,\xff\xfe\n2,\xc3\xa9\n3,\xe2\x82\n4,ok\n"
    res = read_all(data, CFG, chunk=4, batch=2)
    assert res.records == [{"a": "2", "b": "é"}, {"a": "4", "b": "ok"}]
    assert [(b.line, b.offset, b.raw) for b in res.bad] == [
        (2, 4, b"1,\xff\xfe\n"),
        (4, data.index(b"3,"), b"3,\xe2\x82\n"),
    ]
    assert all("UTF-8" in b.reason for b in res.bad)
    assert_resumable(data, CFG, res, chunk=4, batch=2)


def test_invalid_utf8_header_is_an_input_format_error() -> None:
    with pytest.raises(InputFormatError, match="header"):
        read_all(b"a,\xff\n1,2\n", CFG)


@pytest.mark.parametrize("chunk", [1, 4, 4096])
def test_unclosed_quote_at_the_end_is_a_bad_record(chunk: int) -> None:
    data = b'a,b\n1,2\n3,"never closed\nmore\n'
    res = read_all(data, CFG, chunk=chunk)
    assert res.records == [{"a": "1", "b": "2"}]
    assert len(res.bad) == 1
    bad = res.bad[0]
    assert (bad.line, bad.offset, bad.raw) == (3, 8, b'3,"never closed\nmore\n')
    assert "unclosed quote" in bad.reason
    assert res.boundaries[-1][0] == len(data)


def test_header_only() -> None:
    for data in (b"a,b,c\n", b"a,b,c", b"a,b,c\r\n\r\n"):
        res = read_all(data, CFG)
        assert res.records == []
        assert res.bad == []
        assert res.boundaries[-1][0] == len(data)
        assert res.boundaries[-1][2] == {"header": ["a", "b", "c"]}


def test_empty_object() -> None:
    res = read_all(b"", CFG)
    assert (res.records, res.bad) == ([], [])
    assert res.boundaries == [(0, 0, {}, 0, 0)]


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_missing_final_newline(chunk: int) -> None:
    data = b'a,b\r\n1,2\r\n3,"4\r\n5"'
    res = read_all(data, CFG, chunk=chunk, batch=1)
    assert res.records == [{"a": "1", "b": "2"}, {"a": "3", "b": "4\r\n5"}]
    assert res.boundaries[-1][0] == len(data)
    assert_resumable(data, CFG, res, chunk=chunk, batch=1)


@pytest.mark.parametrize("chunk", [1, 2, 5, 4096])
def test_cr_only_line_ends_read_like_dictreader(chunk: int) -> None:
    """Classic Mac exports end lines with a lone CR: rows, quoted line breaks and bad rows as
    csv.DictReader reads them, and resumable at every boundary."""
    text = 'id,"na\rme"\r1,a\r2,"b\rc"\r3\r4,"x\ny"\r5,é\r'
    data = text.encode()
    res = read_all(data, CFG, chunk=chunk, batch=2)
    assert res.records == [r for r in csv.DictReader(io.StringIO(text, newline="")) if None not in r.values()]
    assert [r["na\rme"] for r in res.records] == ["a", "b\rc", "x\ny", "é"]
    assert [(b.line, b.raw) for b in res.bad] == [(6, b"3\r")]  # physical lines: quoted CRs count
    assert res.boundaries[-1][2]["newline"] == "cr"
    assert_resumable(data, CFG, res, chunk=chunk, batch=2)


def test_a_cr_inside_quotes_does_not_make_a_file_cr_only() -> None:
    data = b'id,"a\rb"\n1,2\n'
    res = read_all(data, CFG, chunk=3)
    assert res.records == [{"id": "1", "a\rb": "2"}]
    assert "newline" not in res.boundaries[-1][2]


def test_multibyte_characters_across_every_chunk_boundary() -> None:
    text = "k,v\n" + "".join(f'{i},"é€𝄞 ü, ""ß""\n日本"\n' for i in range(12))
    data = text.encode()
    expected = list(csv.DictReader(io.StringIO(text, newline="")))
    for chunk in range(1, 12):
        res = read_all(data, CFG, chunk=chunk, batch=5)
        assert res.bad == [], chunk
        assert res.records == expected, chunk
    res = read_all(data, CFG, chunk=7, batch=2)
    assert_resumable(data, CFG, res, chunk=7, batch=2)


def zipped() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.csv", "a,b\n1,2\n")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (gzip.compress(b"a,b\n1,2\n", mtime=0), "gzip"),
        (zipped(), "ZIP"),
        (b"\x89PNG\r\n\x1a\n....", "PNG"),
        ("a,b\n1,2\n".encode("utf-16"), "UTF-16"),
        ("a,b\n1,2\n".encode("utf-16-le"), "NUL"),
    ],
)
def test_not_csv_at_all(data: bytes, what: str) -> None:
    with pytest.raises(InputFormatError, match=what):
        read_all(data, CFG, chunk=CFG.read_chunk_bytes)


def test_a_nul_byte_in_a_field_is_data() -> None:
    """Only strong evidence refuses a whole object; a NUL inside a field is just a character."""
    res = read_all(b"a,b\n1,\x00\n2,3\n", CFG, chunk=CFG.read_chunk_bytes)
    assert res.records == [{"a": "1", "b": "\x00"}, {"a": "2", "b": "3"}]
    assert res.bad == []


def test_row_longer_than_max_record_bytes() -> None:
    cfg = dataclasses.replace(CFG, max_record_bytes=64)
    data = b"a,b\n1,2\n" + b'3,"' + b"x" * 200 + b'"\n4,5\n'
    with pytest.raises(RecordTooLargeError, match="line 3"):
        read_all(data, cfg, chunk=16)
    # A row just under the limit is fine.
    ok = b"a,b\n1,2\n" + b'3,"' + b"x" * 40 + b'"\n4,5\n'
    assert len(read_all(ok, cfg, chunk=16).records) == 3


@pytest.mark.parametrize("chunk", [16, 4096])
def test_row_with_line_breaks_longer_than_max_record_bytes(chunk: int) -> None:
    """An unclosed quote early in a big file must not make the reader buffer the rest of the object."""
    cfg = dataclasses.replace(CFG, max_record_bytes=64)
    data = b'a,b\n1,"oops\n' + b"2,3\n" * 5000  # the quoted field runs on past several windows
    with pytest.raises(RecordTooLargeError, match="line 2"):
        read_all(data, cfg, chunk=chunk)


@pytest.mark.parametrize("batch", [1, 2, 3, 7])
def test_batch_offsets_are_row_boundaries(batch: int) -> None:
    data = QUOTED + b"bad\n" + QUOTED.split(b"\r\n", 1)[1]
    res = read_all(data, CFG, chunk=5, batch=batch)
    starts = {0, len(data)}
    pos = 0
    # Every boundary is the start of a physical line that begins a row, or the end.
    line_starts = {0} | {i + 1 for i, c in enumerate(data) if c == 0x0A}
    for offset, *_ in res.boundaries:
        assert offset in line_starts | starts
        pos = offset
    assert pos == len(data)
    assert_resumable(data, CFG, res, chunk=5, batch=batch)


def test_encode_output_is_json_lines() -> None:
    out = encode_output([{"a": "é"}, {"n": 2**70}, ["x"]])
    assert out == '{"a":"é"}\n{"n":1180591620717411303424}\n["x"]\n'.encode()


@pytest.mark.parametrize("chunk", [5, 64, 4096])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_quote_free_windows_read_exactly_like_the_csv_module(chunk: int, eol: str) -> None:
    """Windows without quotes take the str.split path; it must agree with csv.reader on every row,
    including ragged and blank lines, a lone CR, unicode and a header of one column."""
    for header, body in (
        ("id,name,city", ["1,Zoë,Łódź", "2,b,c", "3,too,many,fields", "", "4,x,y", "5,,", "6,a b ,c  "]),
        ("only", ["a", "b c", "", "d"]),
        ("a,b", ["1,2", "3,4\r5,6", "7,8"]),  # a lone CR ends the row for csv: the slow path handles it
    ):
        text = eol.join([header, *body]) + eol
        data = text.encode()
        res = read_all(data, CFG, chunk=chunk, batch=2)
        expected, bad_lines, line = [], [], 1
        reader = csv.reader(io.StringIO(text, newline="\n"))
        names = None
        while True:
            start = line
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error:
                bad_lines.append(start)
                line = reader.line_num + 1
                continue
            line = reader.line_num + 1
            if not row:
                continue
            if names is None:
                names = row
            elif len(row) == len(names):
                expected.append(dict(zip(names, row, strict=True)))
            else:
                bad_lines.append(start)
        assert res.records == expected, (header, chunk)
        assert [b.line for b in res.bad] == bad_lines, (header, chunk)
        assert_resumable(data, CFG, res, chunk=chunk, batch=2)
