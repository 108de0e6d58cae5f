"""One attempt's output parts and quarantine file."""

from __future__ import annotations

import base64
import json

from {{ cookiecutter.__package_name }}.batch import BadRecord
from {{ cookiecutter.__package_name }}.layout import RunLayout
from {{ cookiecutter.__package_name }}.sink import AttemptSink, publish

from .harness import BUCKET, Harness

LAYOUT = RunLayout("_state/", "processed/", "run1")


def sink(h: Harness, part_bytes: int = 1024, raw_limit: int = 16) -> AttemptSink:
    return AttemptSink(h.s3, BUCKET, LAYOUT, 4, "att1", ".jsonl", part_bytes, raw_limit)


def body(h: Harness, key: str) -> bytes:
    data: bytes = h.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return data


def test_parts_split_at_part_bytes(h: Harness) -> None:
    s = sink(h, part_bytes=1024)
    chunks = [bytes([65 + i]) * 300 + b"\n" for i in range(10)]
    for chunk in chunks:
        s.add(chunk, 1)
    assert s.pending_bytes < 1024
    s.flush()
    assert s.pending_bytes == 0
    assert [p.key for p in s.parts] == [LAYOUT.part(4, i, ".jsonl") for i in range(len(s.parts))]
    assert [p.staged for p in s.parts] == [LAYOUT.staged_part(4, "att1", i, ".jsonl") for i in range(len(s.parts))]
    assert len(s.parts) == 3
    assert h.list_keys("processed/") == [], "nothing reaches the output prefix before the commit publishes it"
    assert all(p.bytes >= 1024 for p in s.parts[:-1])
    assert sum(p.items for p in s.parts) == 10
    assert sum(p.bytes for p in s.parts) == sum(map(len, chunks))
    assert b"".join(body(h, p.staged) for p in s.parts) == b"".join(chunks)
    for p in s.parts:
        assert len(body(h, p.staged)) == p.bytes
    publish(h.s3, BUCKET, s.parts)
    publish(h.s3, BUCKET, s.parts)  # again, as a duplicate that finishes a committed hop would
    assert h.list_keys("processed/") == [p.key for p in s.parts]
    assert b"".join(body(h, p.key) for p in s.parts) == b"".join(chunks)


def test_nothing_to_write_writes_nothing(h: Harness) -> None:
    s = sink(h)
    s.add(b"", 0)
    s.flush()
    assert s.parts == []
    assert s.quarantine == []
    assert h.list_keys() == []


def test_items_without_bytes_still_make_a_part(h: Harness) -> None:
    s = sink(h)
    s.add(b"", 2)  # e.g. output items that are empty byte strings
    s.flush()
    assert [(p.items, p.bytes) for p in s.parts] == [(2, 0)]


def test_quarantine_documents(h: Harness) -> None:
    s = sink(h, raw_limit=4)
    s.add_bad([BadRecord(7, 120, 3, "has 2 fields, the header has 3", b"a,b")])
    s.add_bad([BadRecord(9, 200, 10, "invalid UTF-8", b"\xff\xfe0123456")])
    s.flush()
    assert len(s.quarantine) == 1
    q = s.quarantine[0]
    assert q.key == LAYOUT.quarantine(4, "att1", 0)
    assert q.items == 2
    docs = [json.loads(line) for line in body(h, q.key).splitlines()]
    assert q.bytes == len(body(h, q.key))
    assert docs[0] == {
        "line": 7,
        "offset": 120,
        "length": 3,
        "reason": "has 2 fields, the header has 3",
        "raw_base64": base64.b64encode(b"a,b").decode(),
        "raw_truncated": False,
    }
    assert docs[1]["raw_truncated"] is True
    assert base64.b64decode(docs[1]["raw_base64"]) == b"\xff\xfe01"
    assert (docs[1]["line"], docs[1]["offset"], docs[1]["length"]) == (9, 200, 10)


def test_on_put_reports_each_upload(h: Harness) -> None:
    seen: list[tuple[float, int]] = []
    s = AttemptSink(h.s3, BUCKET, LAYOUT, 0, "a", ".bin", 1024, 0, lambda ms, n: seen.append((ms, n)))
    s.add(b"x" * 2000, 1)
    s.add(b"y" * 10, 1)
    s.flush()
    assert [n for _, n in seen] == [2000, 10]
    assert all(ms >= 0 for ms, _ in seen)


def test_quarantine_is_spooled_in_parts_and_counted_as_pending(h: Harness) -> None:
    """However many bad records a hop meets, it holds at most one part of their documents."""
    s = sink(h, part_bytes=2048, raw_limit=64)
    most_pending = 0
    for i in range(400):
        s.add_bad([BadRecord(i + 1, i * 80, 80, "not JSON", b"x" * 80)])
        most_pending = max(most_pending, s.pending_bytes)
    s.flush()
    assert most_pending < 2048 + 400
    assert len(s.quarantine) > 10
    assert [q.key for q in s.quarantine] == [LAYOUT.quarantine(4, "att1", i) for i in range(len(s.quarantine))]
    lines = b"".join(body(h, q.key) for q in s.quarantine).splitlines()
    assert [json.loads(line)["line"] for line in lines] == list(range(1, 401))
    assert sum(q.items for q in s.quarantine) == 400


def test_pending_counts_output_and_quarantine(h: Harness) -> None:
    s = sink(h, part_bytes=10_000)
    s.add(b"y" * 100, 1)
    before = s.pending_bytes
    s.add_bad([BadRecord(1, 0, 5, "bad", b"hello")])
    assert before == 100
    assert s.pending_bytes > before
    assert s.unpublished == (1, 100)
