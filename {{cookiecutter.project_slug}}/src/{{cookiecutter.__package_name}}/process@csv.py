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
- Bad rows (wrong field count, invalid UTF-8) never reach you: they are quarantined and counted.

Worked example (CSV): output every row with its values trimmed, and count rows per value of the
first column, keeping the counts bounded.
"""

from __future__ import annotations

from typing import Any

MAX_KEYS = 1000  # distinct first-column values counted individually; the rest go to "(other)"


def initial_state() -> dict[str, Any]:
    """The state of a new run (hop 0)."""
    return {"rows": 0, "counts": {}}


def process_batch(records: list[dict[str, str]], state: dict[str, Any]) -> list[Any]:
    """Process one batch of rows (dicts from header name to string, in file order).

    Returns the batch's output items; each is written as one line of JSON Lines.
    """
    counts: dict[str, int] = state["counts"]
    out = []
    for row in records:
        first = next(iter(row.values()), "")
        key = first if first in counts or len(counts) < MAX_KEYS else "(other)"
        counts[key] = counts.get(key, 0) + 1
        out.append({name: value.strip() for name, value in row.items()})
    state["rows"] += len(records)
    return out


def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Two adjacent ranges' states, left first (only called when Parallelism > 1). Values keep the
    order they were first seen in, so the MAX_KEYS kept are one pass's, unless one range alone saw
    more than MAX_KEYS distinct values (its "(other)" then holds values one pass may have counted)."""
    counts = dict(left["counts"])
    for value, n in right["counts"].items():
        key = value if value in counts or len(counts) < MAX_KEYS else "(other)"
        counts[key] = counts.get(key, 0) + n
    return {"rows": left["rows"] + right["rows"], "counts": counts}


def finish(state: dict[str, Any]) -> dict[str, Any]:
    """The run's final result, stored in the manifest once the whole object has been processed."""
    top = sorted(state["counts"].items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {"rows": state["rows"], "distinct_first_column": len(state["counts"]), "top": top}
