"""Many bad records cost a hop no more memory than good ones: their quarantine documents are
spooled to S3 in parts as they come, never gathered for the whole hop."""

from __future__ import annotations
{% if cookiecutter.processing_mode == "jsonl" %}
import json
{%- endif %}
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from devtools import passthrough

from {{ cookiecutter.__package_name }}.batch import BadRecord
from {{ cookiecutter.__package_name }}.layout import RunLayout
from {{ cookiecutter.__package_name }}.sink import AttemptSink

from .harness import BUCKET, aws, make_config

LINES = 30_000  # a third of them bad: 10 000 quarantined records, about 1.5 MB of documents
PART_BYTES = 64 << 10  # small parts, so the documents of one hop make many


def _body(bad_every: int) -> bytes:
{%- if cookiecutter.processing_mode == "csv" %}
    rows = ["id,name,note\n"]
    for i in range(LINES):
        broken = bad_every and i % bad_every == bad_every - 1
        rows.append(f"{i},name-{i}\n" if broken else f"{i},name-{i},some note\n")  # a short row is bad
{%- else %}
    rows = []
    for i in range(LINES):
        broken = bad_every and i % bad_every == bad_every - 1
        line = json.dumps({"id": i, "name": f"name-{i}"})
        rows.append((line[:-1] if broken else line) + "\n")  # a broken line lacks its closing brace
{%- endif %}
    return "".join(rows).encode()


def test_a_hop_writes_its_bad_records_out_while_it_reads(tmp_path: Path) -> None:
    """Quarantine parts go out as the bad records come, not all at the hop's end."""
    processed = [0]
    written_after: list[int] = []  # records processed when each quarantine part was written
    write = AttemptSink._write_quarantine

    def counting(records: list[Any], state: dict[str, Any]) -> list[Any]:
        processed[0] += len(records)
        return passthrough.process_batch(records, state)

    def spy(sink: AttemptSink, seq: int, body: bytes, items: int) -> Any:
        written_after.append(processed[0])
        assert len(body) < 2 * PART_BYTES, f"a quarantine part of {len(body)} bytes: documents gathered"
        return write(sink, seq, body, items)

    process = SimpleNamespace(
        initial_state=passthrough.initial_state, process_batch=counting, finish=passthrough.finish
    )
    with (
        aws(make_config(str(tmp_path), part_bytes=PART_BYTES), process) as h,
        mock.patch.object(AttemptSink, "_write_quarantine", spy),
    ):
        out = h.outcome(h.drive(h.put_input(_body(3))))  # one hop: no time limit
    assert (out.hops, out.bad_records) == (1, LINES // 3)
    good = LINES - LINES // 3
    assert len(written_after) >= 10
    assert written_after == sorted(written_after)
    assert written_after[0] < good // 10, f"the first quarantine part waited for {written_after[0]} records"
    assert len(set(written_after)) >= len(written_after) - 1, "parts written together, not as they filled"


class _DiscardingS3:
    def put_object(self, **_: Any) -> None:
        """Accept and drop: what is measured is the sink's own memory."""


def test_bad_records_cost_the_sink_at_most_a_part_of_memory() -> None:
    """However many bad records a hop meets, the sink holds at most one part of their documents."""
    part_bytes = 1 << 20
    s3: Any = _DiscardingS3()
    sink = AttemptSink(s3, BUCKET, RunLayout("_state/", "out/", "run"), 0, "a", ".out", part_bytes, 256)
    raw = b"x" * 200
    tracemalloc.start()
    try:
        for batch in range(100):  # 50 000 bad records, about 20 MB of documents
            bad = [BadRecord(batch * 500 + i, 0, len(raw), "bad record", raw) for i in range(500)]
            sink.add_bad(bad)
            del bad
        sink.flush()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(p.items for p in sink.quarantine) == 50_000
    assert len(sink.quarantine) >= 15
    # A part's documents buffered, their joined copy while it uploads, one batch of records.
    assert peak < 3 * part_bytes + (1 << 20), f"peak {peak / 1e6:.1f} MB for {len(sink.quarantine)} parts"
