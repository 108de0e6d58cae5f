"""The framework's own process.py: what the chain, fault, reliability, end-to-end and soak tests
run, so that they test the framework whatever the user puts in src/<package>/process.py (their
logic is tested by tests/unit/test_process.py and the contract test).

It passes every record through unchanged and keeps an order-sensitive digest of them in its state,
so a record lost, repeated or reordered anywhere in a chain changes both the output and the result.
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


def initial_state() -> dict[str, Any]:
    return {"n": 0, "digest": ""}


def process_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
    digest = state["digest"]
    for rec in records:  # chained per record: the same whatever the batches were
        data = rec if isinstance(rec, bytes) else json.dumps(rec, sort_keys=True).encode()
        digest = hashlib.sha256(digest.encode() + data).hexdigest()
    state["digest"] = digest
    state["n"] += len(records)
    return list(records)


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
