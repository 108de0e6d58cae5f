"""Whole chains in the generated project's emulator: wall time against one unlimited hop, and bytes fetched.

Run in the bench environment from nowhere in particular:
`python -m bench.chain --project P --mode M --size N --out F`. The object is processed three ways
by `devtools.simulate` (the code path of `make simulate`, the project's own process.py) against one
counting moto server: one hop with no limit (TIMEOUT_MS of an hour), a chain with TIMEOUT_MS=1000 on
warm containers, and the same chain with every hop on a fresh container (FAULTS=recycle:1).

Bytes fetched are counted two ways. fetched_over_size_*: from the handler's "hop committed" / "hop
lost the commit race" logs, the bytes each attempt's reader took from S3 (these runs inject no kills,
so every attempt logs; the manifest's total counts committed hops only and is kept for reference).
wire_over_size_*: at the server, response bytes of GETs of the input key that reached the socket,
which adds the read-ahead a hop's TCP connection held when it stopped and closed the stream.
A run that fails is recorded with its error; its ratios are left out (None when none succeeded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import counting_s3, gzip_file, make_object, median


def log_bytes_fetched(log: Path, since: int) -> tuple[int, int]:
    """Sum bytes_fetched over the handler's hop logs after `since`; returns (bytes, hop logs)."""
    total = hops = 0
    with log.open("rb") as fh:
        fh.seek(since)
        for line in fh:
            if not line.startswith(b"{") or b'"bytes_fetched"' not in line:
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if str(doc.get("message", "")).startswith(("hop committed", "hop lost")):
                total += int(doc.get("bytes_fetched") or 0)
                hops += 1
    return total, hops


def run_once(
    simulate: Any,
    server: Any,
    data: Path,
    log: Path,
    timeout_ms: int,
    faults: str,
    project: Path,
    output: Path | None = None,
    env: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One `make simulate` run against the counting server; `output` receives the committed output,
    `env` adds function environment variables (NAME=value)."""
    argv = ["--input", str(data), "--timeout-ms", str(timeout_ms), "--seed", "1", "--no-progress", "--log", str(log)]
    for pair in env:
        argv += ["--env", pair]
    if faults:
        argv += ["--faults", faults]
    if output is not None:
        argv += ["--output", str(output)]
    opts = simulate.parse_args(argv)
    opts.project_dir = project
    since = log.stat().st_size if log.exists() else 0
    server.counters(reset=True)
    t0 = time.perf_counter()
    summary = simulate.run(opts, server=server)
    wall = time.perf_counter() - t0
    counts = server.counters()
    key_paths = [p for p in counts if p.endswith("/" + simulate.input_key(data, None))]
    wire = sum(counts[p]["bytes"] for p in key_paths)
    gets = sum(counts[p]["requests"] for p in key_paths)
    logged, hop_logs = log_bytes_fetched(log, since)
    size = int(summary["object_size"])
    return {
        "status": summary["status"],
        "error": summary.get("error"),
        "timeout_ms": timeout_ms,
        "faults": faults,
        "wall_s": wall,
        "hops": summary["hops"],
        "ranges": summary.get("ranges", 1),
        # Every invocation's duration (what Lambda bills), killed and retried attempts included.
        "sandbox_s": sum(r["end_ms"] - r["start_ms"] for r in summary.get("invocation_log", [])) / 1000,
        "invocations": summary.get("invocations"),
        "timeouts": summary.get("timeouts"),
        "cold_starts": summary.get("cold_starts"),
        "cache_hits": summary.get("cache_hits"),
        "records": summary["records"],
        "bad_records": summary["bad_records"],
        "result": summary["result"],
        "kills": summary.get("kills"),
        "retries": summary.get("retries"),
        "duplicates": summary.get("duplicates"),
        "object_size": size,
        "wire_bytes": wire,
        "input_gets": gets,
        "handler_logged_bytes": logged,
        "hop_logs": hop_logs,
        "manifest_bytes_fetched": summary["bytes_fetched"],
        "wire_over_size": wire / size,
        "fetched_over_size": logged / size,
    }


def simulate_setup(ap: argparse.ArgumentParser, stem: str) -> tuple[argparse.Namespace, Path, Path, Path, Any]:
    """The arguments every chain measurement takes (added to `ap`, then parsed), its input object
    made under --work, and the project's devtools.simulate imported from inside the project.
    Returns (args, project, work, input path, simulate)."""
    ap.add_argument("--project", type=Path, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--gzip", action="store_true", help="gzip the object (level 6): sizes are then compressed")
    args = ap.parse_args()
    project: Path = args.project.resolve()
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"{stem}.{args.mode}"
    make_object(args.mode, args.size, data)
    if args.gzip:
        data = gzip_file(data)
    os.chdir(project)
    sys.path[:0] = [str(project)]
    from devtools import simulate

    return args, project, work, data, simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1, help="single/chain pairs for the wall-time ratio")
    args, project, work, data, simulate = simulate_setup(ap, "chain-input")
    log = work / "chain.log"
    runs: list[dict[str, Any]] = []
    try:
        with counting_s3(project, work / "moto-chain.log") as server:
            single: list[dict[str, Any]] = []
            chain: list[dict[str, Any]] = []
            for r in range(args.rounds):
                pair = [(single, 3_600_000), (chain, 1000)]
                for bucket, timeout in pair if r % 2 == 0 else pair[::-1]:
                    res = run_once(simulate, server, data, log, timeout, "", project)
                    bucket.append(res)
                    runs.append(res)
                    what = f"{res['status']} {res['wall_s']:.1f} s, {res['hops']} hops"
                    print(f"{args.mode}: {timeout} ms: {what}", flush=True)
            cold = run_once(simulate, server, data, log, 1000, "recycle:1", project)
            runs.append(cold)
            print(
                f"{args.mode}: 1000 ms recycle:1: {cold['status']} {cold['wall_s']:.1f} s, {cold['hops']} hops",
                flush=True,
            )
    finally:
        data.unlink(missing_ok=True)
    ok_pairs = [(s, c) for s, c in zip(single, chain, strict=True) if s["status"] == c["status"] == "succeeded"]
    warm_ok = [c for c in chain if c["status"] == "succeeded"]

    def med(values: list[float]) -> float | None:
        return median(values) if values else None

    result = {
        "object_bytes": chain[-1]["object_size"],
        "chain_over_single_pass": med([c["wall_s"] / s["wall_s"] for s, c in ok_pairs]),
        "single_pass_s": med([s["wall_s"] for s in single if s["status"] == "succeeded"]),
        "chain_s": med([c["wall_s"] for c in warm_ok]),
        "chain_hops": warm_ok[-1]["hops"] if warm_ok else None,
        "cold_chain_s": cold["wall_s"] if cold["status"] == "succeeded" else None,
        # What the handler's readers took from S3 (hop logs, lost attempts included).
        "fetched_over_size_warm": med([c["fetched_over_size"] for c in warm_ok]),
        "fetched_over_size_cold": cold["fetched_over_size"] if cold["status"] == "succeeded" else None,
        # What the server put on the wire for the input key (read-ahead in socket buffers included).
        "wire_over_size_warm": med([c["wire_over_size"] for c in warm_ok]),
        "wire_over_size_cold": cold["wire_over_size"] if cold["status"] == "succeeded" else None,
        "failures": [
            {k: r[k] for k in ("timeout_ms", "faults", "error", "hops", "invocations")}
            for r in runs
            if r["status"] != "succeeded"
        ],
        "runs": runs,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
