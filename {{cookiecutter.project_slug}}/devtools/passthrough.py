"""The framework's own process.py: what the chain, fault, reliability, end-to-end and soak tests
run, so that they test the framework whatever the user puts in src/<package>/process.py (their
logic is tested by tests/unit/test_process.py and the contract test).

It passes every record through unchanged and keeps an order-sensitive digest of them in its state,
so a record lost, repeated or reordered anywhere in a chain changes both the output and the result.
The digest is a polynomial hash (sum of h(record_i) * B^(n-1-i) mod P), so the digests of two
adjacent ranges merge into the digest of both: a fan-out's result equals one pass's.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import sys
from typing import Any

from . import project

_P = (1 << 61) - 1  # a Mersenne prime
_B = 1_000_003


def initial_state() -> dict[str, Any]:
    return {"n": 0, "digest": 0}


def process_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
    digest = state["digest"]
    for rec in records:  # per record: the same whatever the batches were
        data = rec if isinstance(rec, bytes) else json.dumps(rec, sort_keys=True).encode()
        digest = (digest * _B + int.from_bytes(hashlib.sha256(data).digest()[:8], "big")) % _P
    state["digest"] = digest
    state["n"] += len(records)
    return list(records)


def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Both ranges' records, left's first: shift left's digest past right's records."""
    digest = (left["digest"] * pow(_B, right["n"], _P) + right["digest"]) % _P
    return {"n": left["n"] + right["n"], "digest": digest}


def finish(state: dict[str, Any]) -> dict[str, Any]:
    return dict(state)


@functools.cache
def _deployed_with_this_process() -> Any:
    """The deployed function of this sandbox, with this module as its process.py (made once, so
    its cache lives as long as the sandbox, as the deployed one's does)."""
    handler = importlib.import_module(f"{project.PACKAGE}.handler")
    return handler.make_handler(dataclasses.replace(handler.FUNCTION, process=sys.modules[__name__]))


def lambda_handler(event: Any, context: Any) -> Any:
    """The deployed handler with this module in place of the user's process.py (for the emulator:
    `simulate.Options(handler="devtools.passthrough.lambda_handler")`)."""
    return _deployed_with_this_process()(event, context)
