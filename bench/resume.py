"""How long a hop takes to resume inside a gzip object, by how far into it: restore the access point
a hop committed, inflate to the first record. Flat in the position is the point (O(1) resume).

Run in the bench environment: `python -m bench.resume --project P --mode M --at 10000000,... --out F`.
The object is made once (about the last position plus 8 MB, gzip level 6) on local disk; a first
pass takes an access point at each position, as a hop stopping there would; then each point is
restored `--rounds` times from a fresh file handle, timing until the decompressed byte at the
position is in hand. The point's size in the checkpoint is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from bench.common import gzip_file, make_object, median

MB = 1 << 20


def chunks(fh: BinaryIO, start: int) -> Iterator[bytes]:
    fh.seek(start)
    while chunk := fh.read(MB):
        yield chunk


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", type=Path, required=True)
    ap.add_argument("--mode", required=True)
    ap.add_argument("--at", required=True, help="comma-separated decompressed offsets")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    positions = sorted(int(x) for x in args.at.split(","))
    sys.path[:0] = [str(args.project / "src"), str(args.project)]
    from devtools import project as baked

    inflate = __import__(f"{baked.PACKAGE}.inflate", fromlist=["_"])
    checkpoint = __import__(f"{baked.PACKAGE}.checkpoint", fromlist=["_"])
    args.work.mkdir(parents=True, exist_ok=True)
    plain = args.work / f"resume.{args.mode}"
    size = make_object(args.mode, positions[-1] + 8 * MB, plain)
    compressed = gzip_file(plain)
    points: dict[int, Any] = {}
    try:
        with compressed.open("rb") as fh:
            inflater = inflate.Inflater(chunks(fh, 0), inflate.START, MB)
            todo = list(positions)
            for _ in inflater.chunks(0):
                while todo and inflater.decompressed > todo[0] + MB:
                    points[todo[0]] = inflater.point_at(todo[0])
                    todo.pop(0)
                if not todo:
                    break
                inflater.release(min([*todo, inflater.decompressed]) - MB)
        ms: dict[str, list[float]] = {}
        for at, point in points.items():
            for _ in range(args.rounds):
                with compressed.open("rb") as fh:
                    t0 = time.perf_counter()
                    first = next(inflate.Inflater(chunks(fh, point.read_from), point, MB).chunks(at))
                    ms.setdefault(str(at), []).append((time.perf_counter() - t0) * 1000)
                    assert first, f"nothing after {at}"
        result = {
            "object_bytes": size,
            "compressed_bytes": compressed.stat().st_size,
            "resume_ms_by_size": {at: median(v) for at, v in ms.items()},
            "samples_ms": ms,
            "point_json_bytes": {str(at): len(json.dumps(checkpoint._point_doc(p))) for at, p in points.items()},
            "skipped_bytes": {str(at): at - p.decompressed for at, p in points.items()},
        }
    finally:
        compressed.unlink(missing_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples_ms"}, indent=2))


if __name__ == "__main__":
    main()
