"""Deadline overruns with every core busy: invocations that ran into their deadline, per 1000.

Run in the bench environment: `python -m bench.overruns --project P --mode M --size N --out F`.
For each hop length (`--timeouts`, default 150 and 1000 ms), `devtools.simulate` chains (the code
path of `make simulate`, the project's own process.py) run over the object, one after another,
until at least `--hops` invocations have run, while one spinning process per core, at the same
priority as everything else, keeps every core busy. The emulator's sandbox ends an invocation at
its deadline as Lambda's does ("Sandbox.Timedout"); a hop that had stopped and committed in time
never counts, however much the load stalled it. overruns_per_1000_hops = 1000 * timeouts /
invocations; the runs' hop counts and outcomes are kept beside it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.chain import run_once, simulate_setup
from bench.common import counting_s3, without_runs


def _spin() -> None:
    while True:
        pass


@contextmanager
def every_core_busy() -> Iterator[int]:
    """One busy-looping process per core for the duration (a `stress --cpu N`)."""
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 1)]
    for hog in hogs:
        hog.start()
    try:
        yield len(hogs)
    finally:
        for hog in hogs:
            hog.kill()
            hog.join()


def measure(
    simulate: Any, server: Any, data: Path, log: Path, timeout_ms: int, hops: int, project: Path
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    while sum(r["invocations"] or 0 for r in runs) < hops:
        res = run_once(simulate, server, data, log, timeout_ms, "", project)
        runs.append(res)
        print(
            f"{timeout_ms} ms: {res['status']}, {res['invocations']} invocations, {res['timeouts']} timed out",
            flush=True,
        )
    invocations = sum(r["invocations"] or 0 for r in runs)
    timeouts = sum(r["timeouts"] or 0 for r in runs)
    return {
        "overruns_per_1000_hops": 1000 * timeouts / invocations,
        "timeouts": timeouts,
        "invocations": invocations,
        "chains": len(runs),
        "failed_chains": sum(r["status"] != "succeeded" for r in runs),
        "runs": [{k: r[k] for k in ("status", "error", "hops", "invocations", "timeouts", "wall_s")} for r in runs],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeouts", default="150,1000")
    ap.add_argument("--hops", type=int, default=150, help="at least this many invocations per hop length")
    args, project, work, data, simulate = simulate_setup(ap, "overrun-input")
    result: dict[str, Any] = {"object_bytes": data.stat().st_size}
    try:
        with counting_s3(project, work / "moto-overruns.log") as server, every_core_busy() as hogs:
            result["cpu_hogs"] = hogs
            for timeout in map(int, args.timeouts.split(",")):
                result[str(timeout)] = measure(
                    simulate, server, data, work / "overruns.log", timeout, args.hops, project
                )
    finally:
        data.unlink(missing_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(without_runs(result), indent=2))


if __name__ == "__main__":
    main()
