"""Shared pieces of the end-to-end tests: one moto server, inputs for this project's mode, and a
helper that runs the real handler's chain through the emulator (devtools.simulate.run)."""

from __future__ import annotations

{% if cookiecutter.processing_mode == "csv" -%}
import csv
{% endif -%}
{% if cookiecutter.processing_mode != "bytes" -%}
import io
{% endif -%}
{% if cookiecutter.processing_mode == "jsonl" -%}
import json
{% endif -%}
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import project, simulate
from devtools.faults import Faults
from devtools.s3_server import MotoServer

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Small reads and batches so that small inputs are cut into dozens of hops at tiny timeouts.
CHAIN_ENV = {
    "READ_CHUNK_BYTES": "16384",
    "FIRST_BATCH_RECORDS": "50",
    "MAX_BATCH_RECORDS": "200",
    "BYTES_CHUNK_SIZE": "1024",
}


def sized(mode: str, approx_bytes: int) -> int:
    """Input size for as many hops in every mode (raw chunks are read ~10x faster than CSV rows,
    JSON lines ~3x)."""
{%- if cookiecutter.processing_mode == "bytes" %}
    return approx_bytes * 10
{%- elif cookiecutter.processing_mode == "jsonl" %}
    return approx_bytes * 3
{%- else %}
    return approx_bytes
{%- endif %}


def make_input(mode: str, approx_bytes: int, seed: int) -> bytes:
    """An input of the project's mode with the awkward cases: quoted commas/quotes/newlines, unicode,
    CRLF, blank lines, and a few bad records (which must be quarantined, not crash the run)."""
    rng = random.Random(seed)
{%- if cookiecutter.processing_mode == "bytes" %}
    return rng.randbytes(approx_bytes)
{%- else %}
    words = ["plain", "comma, inside", 'say "hi"', "two\nlines", "Zürich", "東京", "naïve café", ""]
    buf = io.StringIO()
    i = 0
{%- if cookiecutter.processing_mode == "csv" %}
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["id", "region", "note", "qty", "price"])
    while buf.tell() < approx_bytes:
        i += 1
        if i % 997 == 0:
            buf.write(f"{i},only-two-fields\r\n")  # bad record: wrong field count
            continue
        writer.writerow([i, rng.choice(words), rng.choice(words), rng.randint(1, 9), f"{rng.random() * 100:.2f}"])
{%- else %}
    while buf.tell() < approx_bytes:
        i += 1
        if i % 997 == 0:
            buf.write('{"broken": \n')  # bad record: not JSON
        elif i % 501 == 0:
            buf.write("   \n")  # blank line: skipped, not bad
        else:
            doc = {"id": i, "region": rng.choice(words), "qty": rng.randint(1, 9), "price": rng.random() * 100}
            buf.write(json.dumps(doc, ensure_ascii=False) + "\n")
{%- endif %}
    return buf.getvalue().encode("utf-8")
{%- endif %}


@pytest.fixture(scope="session")
def mode() -> str:
    return project.MODE


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


Runner = Callable[..., tuple[dict[str, Any], bytes]]


@pytest.fixture
def run_chain(s3_server: MotoServer, tmp_path: Path) -> Runner:
    """run_chain(data, timeout_ms=..., faults="...", seed=...) -> (summary, committed output bytes)."""
    counter = iter(range(1_000_000))

    def run(
        data: bytes, timeout_ms: int = 100, faults: str = "", seed: int | None = None, **env: str
    ) -> tuple[dict[str, Any], bytes]:
        n = next(counter)
        src = tmp_path / f"sales {n}+ü{project.INPUT_SUFFIX}"  # the S3 event URL-encodes this key
        src.write_bytes(data)
        out = tmp_path / f"output-{n}"
        opts = simulate.Options(
            input=src,
            timeout_ms=timeout_ms,
            faults=Faults.parse(faults, default_retries=project.ASYNC_RETRIES),
            seed=seed,
            output=out,
            summary=tmp_path / f"summary-{n}.json",
            log=tmp_path / f"simulate-{n}.log",
            env={**CHAIN_ENV, **env},
            max_wall_s=120,
            progress=False,
            project_dir=PROJECT_DIR,
            handler="devtools.passthrough.lambda_handler",  # the framework's own process.py
        )
        summary = simulate.run(opts, server=s3_server)
        return summary, out.read_bytes()

    return run
