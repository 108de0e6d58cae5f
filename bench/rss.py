"""Peak RSS of one hop over a big object against one over a 64 MB object, same settings.

Run in the bench environment: `python -m bench.rss --project P --mode M --sizes 64000000,1000000000
--out F`. Each object is generated into a file (in blocks), uploaded to the counting moto server
with a multipart upload, and the local file deleted; then one hop reads the whole object in a fresh
`python -m bench.rss --hop` subprocess (the function's environment, the trivial process_batch of the
throughput benchmark, a deadline an hour away) that reports its ru_maxrss. Each object is deleted
from the server before the next one is made, and the hop's /tmp cache directory afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import REGION, ROOT, FakeContext, counting_s3, lambda_env, make_object, upload


def peak_rss_mb() -> float:
    """This process's high-water RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a
    child would report its parent's peak if that was higher."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hop(project: Path, endpoint: str, bucket: str, key: str, etag: str, size: int, cache_dir: Path) -> dict[str, Any]:
    """In the fresh subprocess: import the handler, run one hop over the whole object, report RSS."""
    os.environ.update(lambda_env(project, endpoint, cache_dir))
    sys.path[:0] = [str(project / "src")]
    from devtools import project as baked
    from devtools.s3_docs import s3_event

    from bench.throughput import Counter, trivial_process

    trivial_process(__import__(f"{baked.PACKAGE}.process", fromlist=["_"]))
    handler = __import__(f"{baked.PACKAGE}.handler", fromlist=["_"])
    rss_after_import = peak_rss_mb()
    t0 = time.perf_counter()
    result = handler.lambda_handler(s3_event(bucket, key, etag, size, REGION), FakeContext(3_600_000))
    seconds = time.perf_counter() - t0
    if result["runs"][0]["status"] != "succeeded":
        raise RuntimeError(f"the hop did not finish the object: {result}")
    return {
        "object_bytes": size,
        "records": Counter.n,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_after_import_mb": rss_after_import,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", type=Path, required=True)
    ap.add_argument("--mode", default="csv")
    ap.add_argument("--sizes", default="64000000,1000000000")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--hop", nargs=6, metavar=("ENDPOINT", "BUCKET", "KEY", "ETAG", "SIZE", "CACHE_DIR"))
    args = ap.parse_args()
    project: Path = args.project.resolve()
    if args.hop:
        endpoint, bucket, key, etag, size, cache_dir = args.hop
        print(json.dumps(hop(project, endpoint, bucket, key, etag, int(size), Path(cache_dir))))
        return
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    hops: list[dict[str, Any]] = []
    with counting_s3(project, work / "moto-rss.log") as server:
        s3 = server.client()
        for i, size in enumerate(int(s) for s in args.sizes.split(",")):
            bucket = f"bench-rss-{i}"
            s3.create_bucket(Bucket=bucket)
            data = work / f"rss-input.{args.mode}"
            cache_dir = work / "rss-etag-cache"
            key = f"incoming/rss-{size}.{args.mode}"
            try:
                t0 = time.perf_counter()
                real = make_object(args.mode, size, data)
                etag = upload(s3, bucket, key, data)
                data.unlink()
                setup = time.perf_counter() - t0
                hop_args = [server.endpoint, bucket, key, etag, str(real), str(cache_dir)]
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.rss",
                        "--project",
                        str(project),
                        "--work",
                        str(work),
                        "--hop",
                        *hop_args,
                    ],
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    capture_output=True,
                    text=True,
                )
                if out.returncode != 0:
                    raise RuntimeError(f"hop over {real} bytes failed:\n{out.stderr[-3000:]}")
                res = json.loads(out.stdout.strip().splitlines()[-1])
                res["setup_s"] = setup
                hops.append(res)
                print(
                    f"rss: {real / 1e6:.0f} MB object: peak {res['peak_rss_mb']:.0f} MB "
                    f"({res['seconds']:.1f} s hop, {setup:.1f} s to make and upload)",
                    flush=True,
                )
            finally:
                data.unlink(missing_ok=True)
                shutil.rmtree(cache_dir, ignore_errors=True)
                for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=o["Key"])
    small, big = hops[0], hops[-1]
    result = {
        "rss_growth_mb": big["peak_rss_mb"] - small["peak_rss_mb"],
        "mode": args.mode,
        "hops": hops,
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
