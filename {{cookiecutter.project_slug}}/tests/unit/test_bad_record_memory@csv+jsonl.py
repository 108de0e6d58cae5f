"""Many bad records cost a hop no more memory than good ones: their quarantine documents are
spooled to S3 in parts as they come, never gathered for the whole hop."""

from __future__ import annotations
{% if cookiecutter.processing_mode == "jsonl" %}
import json
{%- endif %}
import tracemalloc
from pathlib import Path

import pytest

from .harness import aws, make_config

PART_BYTES = 8 << 20  # the production default, spelled out: the bound below depends on it
LINES = 300_000  # a third of them bad: 100 000 quarantined records


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


def _peak_mb(tmp: Path, body: bytes) -> tuple[float, int]:
    with aws(make_config(str(tmp), part_bytes=PART_BYTES)) as h:
        event = h.put_input(body)
        tracemalloc.start()
        try:
            run_id = h.drive(event)  # one hop: no time limit
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        out = h.outcome(run_id)
    assert out.hops == 1
    return peak / 1e6, out.bad_records


def test_a_third_bad_lines_stay_within_bounded_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process moto keeps every object it stores in this process's memory: have it spool them
    # to disk, so the peak is the hop's own.
    monkeypatch.setenv("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", "1")
    clean_mb, clean_bad = _peak_mb(tmp_path / "clean", _body(0))
    bad_mb, bad = _peak_mb(tmp_path / "bad", _body(3))
    assert (clean_bad, bad) == (0, LINES // 3)
    # A second spool beside the output's: at most a part of documents buffered and its joined copy
    # while it uploads, plus slack (measured here: +28 MB jsonl, +2 MB csv; gathering every
    # document for the whole hop, as this once did, took +74 MB).
    limit_mb = 4 * PART_BYTES / 1e6
    assert bad_mb - clean_mb < limit_mb, f"peak {bad_mb:.1f} MB with {bad} bad records, {clean_mb:.1f} MB without"
