"""Records/s of the generated handler loop against plain ways of reading the same object from moto.

Run in the bench environment: `python -m bench.throughput --project P --mode M --size N --out F`.
One object in a local moto server (a real subprocess on 127.0.0.1); every contender reads it from
there over HTTP, in the same process, in rounds whose order rotates; medians are reported.

The handler contender is the deployed code path end to end: `lambda_handler` on an S3 event, one
hop with a deadline far away, so it reads the whole object, with the baked package's process module
swapped for a trivial one (counts, returns []). Between rounds the run's state/output keys and the
container cache entry are removed so each round is a first, cold-cache run.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.common import REGION, FakeContext, counting_s3, gzip_file, lambda_env, make_object, median, upload

CHUNK = 1 << 20  # read size of the streaming baselines (the handler's READ_CHUNK_BYTES default)


class Counter:
    n = 0


def trivial_process(module: Any) -> None:
    """Swap the user's logic for the cheapest process_batch there is: count and return nothing."""

    def initial_state() -> dict[str, Any]:
        return {"n": 0}

    def process_batch(records: list[Any], state: dict[str, Any]) -> list[Any]:
        Counter.n += len(records)
        return []

    def finish(state: dict[str, Any]) -> dict[str, Any]:
        return {}

    module.initial_state = initial_state
    module.process_batch = process_batch
    module.finish = finish


def contenders(
    mode: str, s3: Any, bucket: str, key: str, etag: str, size: int, handler: Any, gzipped: bool = False
) -> dict[str, Any]:
    from devtools.s3_docs import s3_event  # the project's devtools is on the path by now (main)

    def run_handler() -> int:
        Counter.n = 0
        result = handler.lambda_handler(s3_event(bucket, key, etag, size, REGION), FakeContext(3_600_000))
        status = result["runs"][0]["status"]
        if status != "succeeded":
            raise RuntimeError(f"handler hop did not finish the object: {result}")
        return Counter.n

    def reset_handler() -> None:
        cfg = handler.FUNCTION.config
        for prefix in (cfg.state_prefix, cfg.output_prefix):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if objs:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": objs})
        handler.FUNCTION.cache.drop(bucket, key)

    def body() -> Any:
        return s3.get_object(Bucket=bucket, Key=key)["Body"]

    fns: dict[str, Callable[[], int]] = {"handler": run_handler}
    if gzipped:
        fns["stream"] = gzip_stream(mode, body, handler.FUNCTION.config.bytes_chunk_size)
        return {"fns": fns, "reset": reset_handler}
    if mode == "csv":

        def stream() -> int:
            n = 0
            for _row in csv.DictReader(io.TextIOWrapper(body(), encoding="utf-8", newline="")):
                n += 1
            return n

        def naive() -> int:
            data = body().read()
            n = 0
            for _row in csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")):
                n += 1
            return n

        def powertools() -> int:
            from aws_lambda_powertools.utilities.streaming import S3Object
            from aws_lambda_powertools.utilities.streaming.transformations import CsvTransform

            n = 0
            for _row in S3Object(bucket=bucket, key=key, boto3_client=s3).transform(CsvTransform(newline="")):
                n += 1
            return n

        fns.update(stream=stream, naive=naive, powertools=powertools)
    elif mode == "jsonl":

        def stream() -> int:
            return json_lines(body().iter_chunks(CHUNK))

        def naive() -> int:
            data = body().read()
            loads = json.loads
            n = 0
            for line in data.decode("utf-8").splitlines():
                if line.strip():
                    loads(line)
                    n += 1
            return n

        fns.update(stream=stream, naive=naive)
    else:
        chunk_size = handler.FUNCTION.config.bytes_chunk_size

        def stream() -> int:
            n = 0
            for _chunk in body().iter_chunks(chunk_size):
                n += 1
            return n

        def naive() -> int:
            data = body().read()
            n = 0
            for i in range(0, len(data), chunk_size):
                _chunk = data[i : i + chunk_size]
                n += 1
            return n

        fns.update(stream=stream, naive=naive)
    return {"fns": fns, "reset": reset_handler}


def json_lines(chunks: Iterable[bytes]) -> int:
    """The JSON Lines stream baseline: split the chunks into lines, json.loads each non-blank one."""
    loads = json.loads
    n = 0
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if line.strip():
                loads(line)
                n += 1
    if rest.strip():
        loads(rest)
        n += 1
    return n


def gzip_stream(mode: str, body: Callable[[], Any], chunk_size: int) -> Callable[[], int]:
    """The baseline for a gzip object: `gzip.GzipFile` over the streamed body, then the same parser
    as the plain stream baseline (it cannot resume, which the handler can)."""
    import gzip

    def stream() -> int:
        n = 0
        with gzip.GzipFile(fileobj=body()) as unzipped:
            if mode == "csv":
                for _row in csv.DictReader(io.TextIOWrapper(unzipped, encoding="utf-8", newline="")):
                    n += 1
            elif mode == "jsonl":
                n = json_lines(iter(lambda: unzipped.read(CHUNK), b""))
            else:
                while unzipped.read(chunk_size):
                    n += 1
        return n

    return stream


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", type=Path, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", default="", help="comma-separated contenders (default: all)")
    ap.add_argument("--env", action="append", default=[], help="NAME=value for the function (experiments)")
    ap.add_argument("--gc", choices=("default", "freeze", "off"), default="default", help="experiments only")
    ap.add_argument("--profile", type=Path, help="cProfile one extra handler run into this file (not timed)")
    ap.add_argument("--gzip", action="store_true", help="gzip the object (level 6); the baseline is gzip.GzipFile")
    args = ap.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    data_path = work / f"throughput.{args.mode}"
    size = make_object(args.mode, args.size, data_path)
    plain_size = size
    if args.gzip:
        data_path = gzip_file(data_path)
        size = data_path.stat().st_size
    with counting_s3(args.project, work / "moto.log") as server:
        s3 = server.client()
        bucket, key = "bench-throughput", f"incoming/object.{args.mode}"
        s3.create_bucket(Bucket=bucket)
        etag = upload(s3, bucket, key, data_path)
        data_path.unlink()
        os.environ.update(lambda_env(args.project, server.endpoint, work / "etag-cache"))
        os.environ.update(dict(item.split("=", 1) for item in args.env))
        sys.path[:0] = [str(args.project / "src")]
        from devtools import project as baked

        process = __import__(f"{baked.PACKAGE}.process", fromlist=["_"])
        trivial_process(process)
        handler = __import__(f"{baked.PACKAGE}.handler", fromlist=["_"])
        if args.gc == "freeze":
            gc.freeze()
        elif args.gc == "off":
            gc.disable()
        c = contenders(args.mode, s3, bucket, key, etag, size, handler, args.gzip)
        fns: dict[str, Callable[[], int]] = c["fns"]
        if args.only:
            fns = {k: v for k, v in fns.items() if k in args.only.split(",")}
        if args.profile:
            import cProfile

            c["reset"]()
            cProfile.runctx("fns['handler']()", globals(), {"fns": fns}, str(args.profile))
        names = list(fns)
        times: dict[str, list[float]] = {n: [] for n in names}
        cpu: dict[str, list[float]] = {n: [] for n in names}
        records: dict[str, int] = {}
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # rotate who goes first
            for name in order:
                c["reset"]()
                if args.gc != "off":
                    gc.collect()
                t0, c0 = time.perf_counter(), time.process_time()
                n = fns[name]()
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                if records.setdefault(name, n) != n:
                    raise RuntimeError(f"{name} counted {n} records, earlier {records[name]}")
            print(
                f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s (cpu {cpu[k][-1]:.2f}s)" for k, v in times.items()),
                flush=True,
            )
        counts = set(records.values())
        if len(counts) != 1:
            raise RuntimeError(f"contenders disagree on the record count: {records}")
        n = counts.pop()
        result: dict[str, Any] = {
            "object_bytes": plain_size,
            "stored_bytes": size,  # compressed, with --gzip
            "records": n,
            "rounds": args.rounds,
            "seconds": times,
            "median_s": {k: median(v) for k, v in times.items()},
            "cpu_s": cpu,
            "median_cpu_s": {k: median(v) for k, v in cpu.items()},
            "records_per_s": {k: n / median(v) for k, v in times.items()},
            "mb_per_s": plain_size / 1e6 / median(times["handler"]) if "handler" in times else None,
        }
        # Ratio of rates, per round first (the contenders ran back to back), then the median.
        for other in ("stream", "naive", "powertools"):
            if other in times and "handler" in times:
                per_round = [o / h for h, o in zip(times["handler"], times[other], strict=True)]
                name = f"vs_{'stream_baseline' if other == 'stream' else other}"
                result[name] = median(per_round)
                per_round_cpu = [o / h for h, o in zip(cpu["handler"], cpu[other], strict=True)]
                result[f"{name}_cpu"] = median(per_round_cpu)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "seconds"}, indent=2))


if __name__ == "__main__":
    main()
