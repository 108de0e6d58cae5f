"""Gzip chains through the emulator, checked against the plain object (issue 13's 100 MB runs).

For one mode: a plain object of --size bytes runs in one hop with no limit, which gives the
reference output and result. The same bytes, gzip-compressed as three members cut at arbitrary
bytes (levels 1, 6 and 9, as concatenated files would be), then run as chains at 1000 ms and at
100 ms hops, each without and with faults (`--faults` at 1000 ms and more, SHORT_HOP_FAULTS below:
see there). Every chain's committed output must equal
the reference byte for byte, and its records, bad records and result must be the reference's.

Bytes fetched over the compressed size is taken two ways: from the manifest (the readers of the
committed hops) and at the server (every GET of the key on the wire, killed and retried attempts
and read-ahead included), so a chain that re-fetched after its faults shows it.

    python -m bench.gzip_runs --project P --mode M --size N --work DIR --out F [--faults SPEC]
"""

from __future__ import annotations

import argparse
import filecmp
import gzip
import json
import os
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench.chain import run_once
from bench.common import counting_s3, make_object

FAULTS = "kill:0.2,duplicate:0.25,recycle:0.5,retries:6"
# 100 MB at 100 ms takes about a thousand hops (a hop of 100 ms reads ~100 kB of CSV here), as
# many as the default depth guard allows; 1 GB at 1000 ms more.
ENV = ("MAX_HOPS=1000000",)
TIMEOUTS_MS = (1000, 100)
# At 100 ms a cold sandbox's first hop often overruns (new connections), and recycled sandboxes
# make hops cold: hundreds of hops in a row must each succeed within their retries (the session-22
# run at 100 ms ran out of them, with and without faults). And a warm hop that spends its 100 ms
# opening the stream at an access point (a ranged GET and the window) ends without a batch: two in
# a row trip the stall guard, meant for a record too large for a hop (session 23, csv: after 658
# hops). Lambda's least timeout is 1000 ms; runs shorter than that allow 20 retries (Lambda allows
# 2; `make resume` continues a run whose retries ran out) and more stalled hops: they measure equality.
# The fault mix above makes nearly every 100 ms sandbox cold (session 24: 152 sandbox starts per 98
# hops), and each cold start's imports take ~1 CPU-second of this machine's 2 cores: the hops starved
# each other (274 of 300 in a row began with less time than a commit needs; 0.5 MB in 7 minutes).
# Runs shorter than Lambda's least timeout take a mix this machine can carry, which still kills,
# duplicates and recycles; their stall guard allows 100 hops (a cold sandbox's first S3 round trips
# can leave a 100 ms hop no time to read: 33 in a row once, at the lighter mix).
SHORT_HOP_RETRIES = 20
SHORT_HOP_FAULTS = "kill:0.05,duplicate:0.1,recycle:0.1"
SHORT_HOP_ENV = ("MAX_STALLED_HOPS=100",)


def with_retries(faults: str, timeout_ms: int) -> str:
    """The fault spec of a run at `timeout_ms` hops (`faults` at 1000 ms and more)."""
    if timeout_ms >= 1000:
        return faults
    return ",".join([*([SHORT_HOP_FAULTS] if faults else []), f"retries:{SHORT_HOP_RETRIES}"])


def env_for(timeout_ms: int) -> tuple[str, ...]:
    return ENV if timeout_ms >= 1000 else (*ENV, *SHORT_HOP_ENV)


LEVELS = (1, 6, 9)
REPORTED = (
    "timeout_ms", "faults", "status", "differences", "wall_s", "hops", "invocations", "kills", "retries",
    "duplicates", "cold_starts", "fetched_over_size", "manifest_fetched_over_compressed", "wire_over_size",
)  # fmt: skip


def gzip_members(plain: Path, out: Path) -> None:
    """`plain` as len(LEVELS) gzip members of about equal length, streamed (no copy in memory)."""
    size = plain.stat().st_size
    cuts = [size * i // len(LEVELS) for i in range(len(LEVELS) + 1)]
    with plain.open("rb") as src, out.open("wb") as dst:
        for level, (start, stop) in zip(LEVELS, pairwise(cuts), strict=True):
            with gzip.GzipFile(fileobj=dst, mode="wb", compresslevel=level, mtime=0) as member:
                left = stop - start
                while left:
                    block = src.read(min(left, 1 << 20))
                    member.write(block)
                    left -= len(block)


def compare(run: dict[str, Any], output: Path, reference: dict[str, Any], ref_output: Path) -> list[str]:
    """What differs from the reference single pass (nothing, for a correct chain)."""
    if run["status"] != "succeeded":
        return [f"the run {run['status']}: {run['error']}"]
    problems = [
        f"{name}: {run[name]!r} != {reference[name]!r}"
        for name in ("records", "bad_records", "result")
        if run[name] != reference[name]
    ]
    if not filecmp.cmp(output, ref_output, shallow=False):
        problems.append(f"output differs ({output.stat().st_size} bytes, reference {ref_output.stat().st_size})")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("--project", "--work", "--out"):
        ap.add_argument(name, type=Path, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--size", type=int, required=True, help="decompressed bytes")
    ap.add_argument("--faults", default=FAULTS)
    ap.add_argument("--timeouts", default=",".join(map(str, TIMEOUTS_MS)), help="hop timeouts (ms), comma-separated")
    args = ap.parse_args()
    project, work = args.project.resolve(), args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    plain = work / f"gzip-runs.{args.mode}"
    make_object(args.mode, args.size, plain)
    packed = plain.with_name(plain.name + ".gz")
    gzip_members(plain, packed)
    compressed = packed.stat().st_size
    os.chdir(project)
    sys.path[:0] = [str(project)]
    from devtools import simulate

    log, ref_output = work / "gzip-runs.log", work / "reference.out"
    runs: list[dict[str, Any]] = []
    with counting_s3(project, work / "moto-gzip-runs.log") as server:
        reference = run_once(simulate, server, plain, log, 3_600_000, "", project, ref_output)
        if reference["status"] != "succeeded":
            raise SystemExit(f"the plain single pass failed: {reference['error']}")
        plain.unlink()
        for timeout_ms in map(int, args.timeouts.split(",")):
            for faults in (with_retries("", timeout_ms), with_retries(args.faults, timeout_ms)):
                output = work / "chain.out"
                run = run_once(simulate, server, packed, log, timeout_ms, faults, project, output, env_for(timeout_ms))
                run["differences"] = compare(run, output, reference, ref_output)
                run["manifest_fetched_over_compressed"] = (run["manifest_bytes_fetched"] or 0) / compressed
                output.unlink(missing_ok=True)
                runs.append(run)
                print(
                    f"{args.mode}: {timeout_ms} ms {faults or 'no faults'}: {run['status']} in "
                    f"{run['wall_s']:.1f} s, {run['hops']} hops, {run['invocations']} invocations, "
                    f"{'equal to the plain pass' if not run['differences'] else run['differences']}",
                    flush=True,
                )
    packed.unlink()
    clean = [r for r in runs if "kill" not in r["faults"] and not r["differences"]]
    result = {
        "decompressed_bytes": args.size,
        "compressed_bytes": compressed,
        "members": len(LEVELS),
        "faults": sorted({r["faults"] for r in runs if "kill" in r["faults"]}),
        "runs_equal_to_plain": sum(not r["differences"] for r in runs),
        "runs": len(runs),
        "fetched_over_compressed": max((r["fetched_over_size"] for r in clean), default=None),
        "by_run": [{k: r[k] for k in REPORTED} for r in runs],
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "by_run"}, indent=2))


if __name__ == "__main__":
    main()
