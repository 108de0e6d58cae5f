"""Your logic goes here. This is the only file you need to edit.

The handler calls these functions; everything else (time budget, checkpoints, cache, guards,
exactly-once output) keeps working whatever you put here, within these rules:

- `state` is carried from hop to hop through a checkpoint in S3, exactly: dicts (with any of
  these as keys), lists, tuples, sets, Counter, OrderedDict, str, int, float, bool, None, bytes,
  Decimal and datetimes come back as they were (see state_codec.py). Anything else (a
  defaultdict, an object of your own class) stops the run with a StateError saying where it is.
  Keep it bounded: it is rewritten every hop.
- `merge(left, right)` is needed only when the stack is deployed with Parallelism > 1: a large
  object is then read as several byte ranges at once, each with its own state, and merge combines
  two adjacent ranges' states (left before right) so that finish() sees what one pass would have.
- `process_batch` may be called again for the same records (a retried or duplicate hop); only the
  attempt whose checkpoint commits counts, so do not cause side effects elsewhere (e.g. writing to
  a database) unless they are idempotent.
- Bad lines (invalid UTF-8 or JSON) never reach you: they are quarantined and counted.

Worked example (JSON Lines): count values by JSON type and objects by their "level" (or "type")
field, and output the objects, each with a "_kind" field added.
"""

from __future__ import annotations

from typing import Any

MAX_KEYS = 1000  # distinct levels counted individually; the rest go to "(other)"


def initial_state() -> dict[str, Any]:
    """The state of a new run (hop 0)."""
    return {"values": 0, "types": {}, "levels": {}}


def process_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
    """Process one batch of parsed JSON values, in file order.

    Returns the batch's output items; each is written as one line of JSON Lines.
    """
    types: dict[str, int] = state["types"]
    levels: dict[str, int] = state["levels"]
    out = []
    for value in records:
        kind = type(value).__name__
        types[kind] = types.get(kind, 0) + 1
        if isinstance(value, dict):
            level = str(value.get("level", value.get("type", "(none)")))
            key = level if level in levels or len(levels) < MAX_KEYS else "(other)"
            levels[key] = levels.get(key, 0) + 1
            out.append({**value, "_kind": key})
    state["values"] += len(records)
    return out


def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Two adjacent ranges' states, left first (only called when Parallelism > 1). Levels keep the
    order they were first seen in, so the MAX_KEYS kept are one pass's, unless one range alone saw
    more than MAX_KEYS distinct levels (its "(other)" then holds levels one pass may have counted)."""
    types = dict(left["types"])
    for kind, n in right["types"].items():
        types[kind] = types.get(kind, 0) + n
    levels = dict(left["levels"])
    for level, n in right["levels"].items():
        key = level if level in levels or len(levels) < MAX_KEYS else "(other)"
        levels[key] = levels.get(key, 0) + n
    return {"values": left["values"] + right["values"], "types": types, "levels": levels}


def finish(state: dict[str, Any]) -> dict[str, Any]:
    """The run's final result, stored in the manifest once the whole object has been processed."""
    return {"values": state["values"], "types": state["types"], "levels": state["levels"]}
