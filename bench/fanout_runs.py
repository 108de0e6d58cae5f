"""Fan-out through the emulator against the sequential chain (issue 14's figures).

One object runs twice through `devtools.simulate`: as the sequential chain (Parallelism 1) and as
N range chains (PARALLELISM=N), on a copy of the project whose process.py is the bench's own: each
batch either waits BENCH_SLEEP_MS (an API call per batch: I/O-bound) or hashes every record
BENCH_HASH_ROUNDS times (CPU-bound). Reported:

- speedup: the sequential run's wall time over the fan-out's (upload to the end of the run);
- hop_seconds_over_sequential: sandbox seconds (every invocation's duration, what Lambda bills)
  of the fan-out over the sequential chain's: what splitting costs (planning, cold sandboxes,
  reading past a range's end, redone CSV ranges).

Both runs must commit the same output byte for byte and the same result; a difference fails the
stage. `python -m bench.fanout_runs --project P --mode M --size N --work DIR --out F [--ranges 4]`
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.chain import run_once
from bench.common import counting_s3, make_object

# Replaces the copy's process.py: passes records through (so output equality means something) and
# counts them; merge makes the fan-out's result the sequential one's.
PROCESS = '''"""The bench's process.py: a fixed wait per batch (I/O-bound) or hashing per record (CPU-bound)."""

import hashlib
import os
import time
from typing import Any

_SLEEP_S = int(os.environ.get("BENCH_SLEEP_MS", "0")) / 1000
_HASH_ROUNDS = int(os.environ.get("BENCH_HASH_ROUNDS", "0"))


def initial_state() -> dict[str, Any]:
    return {"n": 0}


def process_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
    if _SLEEP_S:
        time.sleep(_SLEEP_S)
    for record in records:
        data = repr(record).encode()
        for _ in range(_HASH_ROUNDS):
            data = hashlib.sha256(data).digest()
    state["n"] += len(records)
    return list(records)


def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {"n": left["n"] + right["n"]}


def finish(state: dict[str, Any]) -> dict[str, Any]:
    return dict(state)
'''
# (name, function environment): an API call of 20 ms per batch of at most 500 records; or 200
# rounds of SHA-256 per record (about 50 us each here), batches as the function sizes them.
WORKLOADS = {
    "io_bound": ("BENCH_SLEEP_MS=20", "MAX_BATCH_RECORDS=500"),
    "cpu_bound": ("BENCH_HASH_ROUNDS=200",),
}
REPORTED = ("status", "wall_s", "sandbox_s", "hops", "ranges", "invocations", "cold_starts", "records")


def bench_project(project: Path, work: Path) -> Path:
    """A copy of the project with the bench's process.py (the project itself stays as baked)."""
    copy = work / project.name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".venv*", ".aws-sam", "*_cache", "__pycache__"))
    (package,) = [p for p in (copy / "src").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    (package / "process.py").write_text(PROCESS, encoding="utf-8")
    return copy


def compare(fan: dict[str, Any], seq: dict[str, Any], fan_out: Path, seq_out: Path) -> list[str]:
    problems = [f"{r['label']} {r['status']}: {r['error']}" for r in (seq, fan) if r["status"] != "succeeded"]
    if problems:
        return problems
    problems = [f"{k}: {fan[k]!r} != {seq[k]!r}" for k in ("records", "bad_records", "result") if fan[k] != seq[k]]
    if not filecmp.cmp(fan_out, seq_out, shallow=False):
        problems.append(f"output differs ({fan_out.stat().st_size} bytes, sequential {seq_out.stat().st_size})")
    return problems


def workload(
    simulate: Any, server: Any, project: Path, data: Path, work: Path, env: tuple[str, ...], args: argparse.Namespace
) -> dict[str, Any]:
    """The sequential chain and the fan-out of one workload, compared."""
    log = work / "fanout-runs.log"
    runs, outputs = {}, {}
    for label, extra in (("sequential", ()), ("fan_out", (f"PARALLELISM={args.ranges}", "MIN_RANGE_MB=1"))):
        outputs[label] = work / f"{label}.out"
        run = run_once(simulate, server, data, log, args.timeout_ms, "", project, outputs[label], (*env, *extra))
        runs[label] = {**run, "label": label}
        print(f"{label}: {run['status']} in {run['wall_s']:.1f} s, {run['sandbox_s']:.1f} sandbox s, "
              f"{run['hops']} hops over {run['ranges']} range(s)", flush=True)  # fmt: skip
    seq, fan = runs["sequential"], runs["fan_out"]
    differences = compare(fan, seq, outputs["fan_out"], outputs["sequential"])
    for path in outputs.values():
        path.unlink(missing_ok=True)
    ok = not differences
    return {
        "environment": list(env),
        "speedup": seq["wall_s"] / fan["wall_s"] if ok else None,
        "hop_seconds_over_sequential": fan["sandbox_s"] / seq["sandbox_s"] if ok else None,
        "differences": differences,
        "sequential": {k: seq[k] for k in REPORTED},
        "fan_out": {k: fan[k] for k in REPORTED},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("--project", "--work", "--out"):
        ap.add_argument(name, type=Path, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--ranges", type=int, default=4)
    ap.add_argument("--timeout-ms", type=int, default=5000)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    project = bench_project(args.project.resolve(), work)
    data = work / f"fanout.{args.mode}"
    make_object(args.mode, args.size, data)
    os.chdir(project)
    sys.path[:0] = [str(project)]
    from devtools import simulate

    result: dict[str, Any] = {"mode": args.mode, "object_bytes": data.stat().st_size, "ranges": args.ranges,
                              "timeout_ms": args.timeout_ms}  # fmt: skip
    with counting_s3(project, work / "moto-fanout-runs.log") as server:
        for name in args.workloads.split(","):
            print(f"{name}:", flush=True)
            result[name] = workload(simulate, server, project, data, work, WORKLOADS[name], args)
    data.unlink()
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
