"""Property: for random CSV and random cut points, a chain of hops commits exactly a single pass."""

from __future__ import annotations

import csv
import io
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import hops_versus_single_pass, raw_of

CHARS = st.sampled_from(list('ab ,"\n\r;é€𝄞x1'))
FIELD = st.text(CHARS, max_size=6)
# Written as they are, not quoted: a quote inside a field is a literal one to the csv module, and
# one at a field's start opens a quoted field that may run over line ends into later rows.
SENTINEL = "\ufdd0 end \ufdd0"
LOOSE = st.text(st.sampled_from(list('ab ,"x')), max_size=5)


def quote(field: str) -> str:
    if any(c in field for c in ',"\r\n') or field == "":
        return '"' + field.replace('"', '""') + '"'
    return field


@st.composite
def csv_objects(draw: st.DrawFn) -> bytes:
    width = draw(st.integers(1, 4))
    eol = draw(st.sampled_from(["\n", "\r\n", "mixed", "\r"]))
    lines = [",".join(quote(f"h{i}{draw(FIELD)}") for i in range(width))]
    for _ in range(draw(st.integers(0, 16))):
        kind = draw(st.sampled_from(["row"] * 8 + ["ragged", "blank", "loose"]))
        if kind == "blank":
            lines.append("")
            continue
        if kind == "loose":
            lines.append(",".join(draw(LOOSE) for _ in range(width)))
            continue
        n = width if kind == "row" else draw(st.integers(1, width + 2).filter(lambda k: k != width))
        lines.append(",".join(quote(draw(FIELD)) for _ in range(n)))
    ends = [draw(st.sampled_from(["\n", "\r\n"])) if eol == "mixed" else eol for _ in lines]
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    if draw(st.booleans()):
        text = text[: -len(ends[-1])]  # no final newline
    data = text.encode()
    return (b"\xef\xbb\xbf" + data) if draw(st.booleans()) else data


def oracle(data: bytes) -> tuple[list[dict[str, str]], list[int]]:
    """Records and bad-record line numbers, from the csv module over the whole text.

    Lines are what LF ends (a CR inside a quoted field does not start a line), as in the reader;
    in a CR-only object (its first line break outside quotes a lone CR), what CR ends. Where the
    csv module raises, the row is bad; a quoted field still open at the end of the object makes its
    row bad (the csv module would close it silently): a sentinel line after the text shows it.
    """
    text = data.decode("utf-8-sig")
    unquoted = re.sub('"[^"]*"', "", text)
    first = re.search("[\r\n]", unquoted)
    cr_only = first is not None and not unquoted[first.start() :].startswith(("\n", "\r\n"))
    eol = "\r" if cr_only else "\n"
    lines = re.split("(?<=\r)", text) if cr_only else io.StringIO(text, newline="\n").readlines()
    lines = [line for line in lines if line]
    if lines and not lines[-1].endswith(eol):
        lines[-1] += eol
    reader = csv.reader([*lines, SENTINEL + eol])
    header = None
    records, bad = [], []
    line = 1
    while True:
        start = line
        try:
            row = next(reader)
        except csv.Error:
            line = reader.line_num + 1
            bad.append(start)
            continue
        line = reader.line_num + 1
        if row == [SENTINEL]:
            return records, bad
        if any(SENTINEL in field for field in row):  # open at the end
            bad.append(start)
            return records, bad
        if not row:
            continue
        if header is None:
            header = row
        elif len(row) == len(header):
            records.append(dict(zip(header, row, strict=True)))
        else:
            bad.append(start)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=csv_objects(),
    budgets=st.lists(st.integers(2, 12), min_size=1, max_size=6),
    chunk=st.integers(4, 64),
    batch=st.integers(1, 8),
    part=st.integers(1, 300),
)
def test_hops_equal_a_single_pass(data: bytes, budgets: list[int], chunk: int, batch: int, part: int) -> None:
    hops, single = hops_versus_single_pass(
        data,
        budgets,
        read_chunk_bytes=chunk,
        first_batch_records=batch,
        max_batch_records=batch,
        part_bytes=part,
    )
    assert hops.output == single.output
    assert hops.bad == single.bad
    assert (hops.records, hops.bad_records, hops.output_items, hops.result) == (
        single.records,
        single.bad_records,
        single.output_items,
        single.result,
    )
    records, bad_lines = oracle(data)
    assert [json.loads(line) for line in single.output.splitlines()] == records
    assert [b["line"] for b in single.bad] == bad_lines
    for doc in single.bad:
        raw = raw_of(doc)
        assert data[doc["offset"] : doc["offset"] + doc["length"]] == raw
