"""What a simulated run did, for people: live progress, the per-hop timeline and the closing summary.

Per hop it joins the emulator's view (when each attempt ran, on which sandbox, how it ended) with
the run's committed checkpoints (records processed and why the hop stopped), so a reader can see
the deadline cut the input and the faults being absorbed.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

Row = dict[str, Any]


def checkpoints(s3: Any, bucket: str, state_prefix: str, run_id: str, chain: str = "") -> dict[int, dict[str, Any]]:
    """hop -> committed checkpoint document of the run's chain (a range chain of a fan-out run),
    read straight from S3 (layout.py)."""
    prefix = f"{state_prefix}runs/{run_id}/{f'ranges/{chain}/' if chain else ''}checkpoints/"
    found: dict[int, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix) :].split(".")[0]
            if name.isdigit():
                found[int(name)] = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    return found


def range_timeline(rows: list[Row], cps_of: Callable[[str], dict[int, dict[str, Any]]]) -> list[Row]:
    """A fan-out run: each range chain's hops (their `range` column names the chain), in the
    order they started, so ranges that ran at once show side by side."""
    chains = sorted({str(r["chain"]) for r in rows if r.get("chain")})
    out = [{**row, "range": chain} for chain in chains for row in hop_timeline(
        [r for r in rows if r.get("chain") == chain], cps_of(chain))]  # fmt: skip
    return sorted(out, key=lambda r: (r["start_ms"] is None, r["start_ms"] or 0.0))


def hop_timeline(rows: list[Row], cps: dict[int, dict[str, Any]]) -> list[Row]:
    """One row per hop: first start, end of the attempt that succeeded, attempts, records, stop reason."""
    by_hop: dict[int, list[Row]] = {}
    for row in rows:
        if row.get("hop") is not None:
            by_hop.setdefault(int(row["hop"]), []).append(row)
    hops = sorted(set(by_hop) | set(cps))
    out: list[Row] = []
    for hop in hops:
        attempts = sorted(by_hop.get(hop, []), key=lambda r: r["start_ms"])
        ok = [r for r in attempts if r["outcome"] == "ok"]
        this, nxt = cps.get(hop), cps.get(hop + 1)
        if this is not None and this.get("done") and not attempts:
            continue  # the final checkpoint: the run ended here, no hop runs from it
        records, stop = None, None
        if this is not None and nxt is not None:
            records, stop = nxt["records"] - this["records"], nxt.get("last_stop") or "?"
        elif attempts and attempts[-1].get("error"):
            stop = str(attempts[-1]["error"].get("errorType", "error"))
        out.append(
            {
                "hop": hop,
                "start_ms": round(attempts[0]["start_ms"], 1) if attempts else None,
                "end_ms": round((ok[0] if ok else attempts[-1])["end_ms"], 1) if attempts else None,
                "attempts": [_attempt_label(r) for r in attempts],
                "records": records,
                "offset": this.get("offset") if this else None,
                "stopped": stop,
                "committed": this is not None,
            }
        )
    return out


def _attempt_label(row: Row) -> str:
    label = str(row["outcome"])
    if row.get("copy"):
        label += "(dup)"
    if row.get("cold"):
        label += "*"
    return label


def _mb(n: float | None) -> str:
    return "?" if n is None else f"{n / 1e6:.2f} MB"


def render_summary(summary: dict[str, Any]) -> str:
    """The short human summary printed at the end of `make simulate`."""
    ok = summary["status"] == "succeeded"
    size, fetched = summary.get("object_size"), summary.get("bytes_fetched")
    ratio = f" ({fetched / size:.2f}x)" if size and fetched is not None else ""
    cache = summary.get("cache_hits")
    s = summary
    lines = [
        f"simulate: run {s.get('run_id') or '(none started)'} {s['status'].upper()} in {s['wall_ms'] / 1000:.1f} s"
        + (f" - {s.get('error')}" if not ok else ""),
        f"  hops {s['hops']}   records {s.get('records')} (bad {s.get('bad_records')})"
        f"   timeout {s['timeout_ms']} ms   faults {s['faults'] or 'none'} seed {s['seed']}",
        f"  invocations {s['invocations']} (cold {s['cold_starts']})   kills {s['kills']}"
        f"   timeouts {s['timeouts']}   retries {s['retries']}   duplicates {s['duplicates']}"
        f"   recycles {s['recycles']}   on-failure {len(s['on_failure'])}",
        f"  cache hits {'?' if cache is None else cache}   bytes fetched {_mb(fetched)} / object {_mb(size)}{ratio}",
    ]
    if s.get("code", "src/") != "src/":
        lines.append(f"  code {s['code']} (the sam build, on the runtime's Python with only the SDK beside it)")
    return "\n".join(lines)


def render_timeline(timeline: list[Row], limit: int = 60) -> str:
    """Per hop: when it ran, what each attempt did (* = cold sandbox), records, why it stopped."""
    ranged = any("range" in row for row in timeline)
    columns = f"{'hop':>4} {'start ms':>9} {'end ms':>9} {'records':>9}  {'stopped':<14} attempts"
    head = f"  {'range   ' if ranged else ''}{columns}"
    lines = ["timeline:", head]
    shown = timeline if len(timeline) <= limit else [*timeline[: limit // 2], {}, *timeline[-limit // 2 :]]
    for row in shown:
        if not row:
            lines.append(f"  {'...':>4} ({len(timeline) - limit} hops not shown; all are in SUMMARY)")
            continue
        when = f"{_num(row['start_ms']):>9} {_num(row['end_ms']):>9}"
        lines.append(
            f"  {row.get('range', '') + ' ' if ranged else ''}{row['hop']:>4} {when} {_num(row['records']):>9}  "
            f"{row['stopped'] or '-'!s:<14} {', '.join(row['attempts']) or '-'}"
        )
    lines.append("  (* = cold sandbox, (dup) = duplicate delivery)")
    return "\n".join(lines)


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.0f}" if isinstance(v, float) else str(v)


class Progress:
    """A bar on a terminal, a plain line every few seconds otherwise; runs in its own thread."""

    def __init__(self, poll: Callable[[], tuple[int, int, dict[str, int]]], stream: IO[str] | None = None) -> None:
        self.poll = poll  # -> (offset, size, counters)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._t0 = time.monotonic()

    def start(self) -> Progress:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _loop(self) -> None:
        interval = 0.2 if self.tty else 2.0
        while not self._stop.wait(interval):
            try:
                self._show(*self.poll())
            except Exception:  # progress is best effort; S3 may be mid-shutdown
                continue

    def _show(self, offset: int, size: int, c: dict[str, int]) -> None:
        frac = offset / size if size else 0.0
        secs = time.monotonic() - self._t0
        info = (
            f"hop {c.get('hop', 0)}  {_mb(offset)}/{_mb(size)}  kills {c.get('kills', 0)} "
            f"retries {c.get('retries', 0)} dups {c.get('duplicates', 0)}  {secs:.1f}s"
        )
        if self.tty:
            width = 30
            bar = "#" * int(frac * width) + "." * (width - int(frac * width))
            self.stream.write(f"\r[{bar}] {frac:4.0%} {info}   ")
        else:
            self.stream.write(f"progress: {frac:.0%} {info}\n")
        self.stream.flush()
