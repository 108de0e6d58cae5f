"""The worked example (bytes): the object copied through, with its CRC32, size and newline count."""

from __future__ import annotations

import json
import zlib

from {{ cookiecutter.__package_name }} import process

from .harness import Harness


def test_copy_through_with_crc() -> None:
    state = process.initial_state()
    chunks = [b"ab\n", b"cd", b"\n\n", b""]
    out: list[bytes] = []
    for chunk in chunks:
        out += process.process_batch([chunk], state)
    json.dumps(state)
    assert b"".join(out) == b"ab\ncd\n\n"
    crc = zlib.crc32(b"ab\ncd\n\n")
    assert process.finish(state) == {"bytes": 7, "crc32": f"{crc:08x}", "newlines": 3}


def test_empty_run() -> None:
    assert process.finish(process.initial_state()) == {"bytes": 0, "crc32": "00000000", "newlines": 0}


def test_through_the_handler(h: Harness) -> None:
    with h.using(process=process):  # the harness runs the framework's own by default
        h.configure(bytes_chunk_size=10, read_chunk_bytes=16, first_batch_records=2, max_batch_records=2)
        body = bytes(range(256)) * 3 + b"\n tail"
        out = h.outcome(h.drive(h.put_input(body), lambda: 4))
        assert out.hops > 2
        assert out.output == body
        assert out.result == {"bytes": len(body), "crc32": f"{zlib.crc32(body):08x}", "newlines": body.count(b"\n")}
        assert out.records == -(-len(body) // 10)
