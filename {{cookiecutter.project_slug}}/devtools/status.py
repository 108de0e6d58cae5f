"""`make status RUN=<id>`: where a run stands, from what it committed in S3.

Shows the hop, offset / object size, records, bad records, and the state: running, succeeded,
failed or abandoned, with the error that ended it (or the run that superseded it).

Where the run is looked up, first match wins:
  --bucket B (or env BUCKET)     a deployed stack's bucket, with your AWS credentials;
  --stack S  (or env STACK)      the bucket named in that CloudFormation stack's outputs;
  otherwise the local state that `make simulate` keeps in .simulate/state (--state-dir):
  runs of the emulator, kept after the simulator exits so they can be inspected and resumed.

    python -m devtools.status RUN_ID [--bucket B | --stack S | --state-dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .local_state import DEFAULT_STATE_DIR
from .package import config, deployed_package
from .run_report import run_status
from .targets import target_for

EXIT_UNKNOWN = 1


# -- printing -------------------------------------------------------------------------------------
def render(status: dict[str, Any]) -> str:
    state = status.get("state", "unknown")
    lines = [f"run {status.get('run_id')}: {state}"]
    src = status.get("source")
    if src:
        lines.append(f"  object       s3://{src['bucket']}/{src['key']}  (ETag {src['etag']}, {src['size']} bytes)")
    size = status.get("size", (src or {}).get("size"))
    offset = status.get("offset")
    if offset is not None and size is not None:
        pct = 100.0 * offset / size if size else 100.0
        lines.append(f"  hop          {status.get('hop', status.get('hops'))}")
        if status.get("code_version"):
            lines.append(f"  version      {status['code_version']} (the function version the run is pinned to)")
        lines.append(f"  offset       {offset} / {size} bytes ({pct:.1f}%)")
        if status.get("decompressed_offset") is not None:
            lines.append(
                f"  gzip         decompressed byte {status['decompressed_offset']} (the offset above is compressed)"
            )
    for r in status.get("ranges") or []:
        if "offset" not in r:
            lines.append(f"  range {r['index']:<6} {r['state']} (from byte {r['bound']})")
            continue
        span = max(1, r["to"] - r["from"])
        pct = 100.0 * min(span, max(0, r["offset"] - r["from"])) / span
        redo = f", read again ({r['generation']})" if r["generation"] else ""
        lines.append(
            f"  range {r['index']:<6} {r['state']}: byte {r['offset']} of [{r['from']}, {r['to']}) ({pct:.0f}%), "
            f"hop {r['hop']}, {r['records']} records{redo}"
        )
    if status.get("records") is not None:
        lines.append(
            f"  records      {status['records']}   bad records {status.get('bad_records')}"
            f"   output items {status.get('output_items')}"
        )
    if state == "running" and status.get("seconds_since_update") is not None:
        lines.append(
            f"  last commit  {status['seconds_since_update']} s ago (a run whose last commit is older than "
            "the function timeout has stopped: its retries ran out; see the on-failure queue, then resume it)"
        )
    if status.get("error"):
        lines.append(f"  why          {status.get('error_type')}: {status['error']}")
    if status.get("superseded_by"):
        lines.append(f"  superseded   by run {status['superseded_by']} (the object changed; policy restart)")
    if state == "succeeded":
        lines.append(f"  output       {len(status.get('parts', []))} parts, result {json.dumps(status.get('result'))}")
    if state in ("failed", "running"):
        lines.append(f"  resume with  make resume RUN={status.get('run_id')}  (after fixing the cause)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devtools.status",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=(__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_id", metavar="RUN_ID", help="the run id (see the simulate summary, logs or the manifest)")
    p.add_argument("--bucket", default=None, help="the deployed bucket (default: env BUCKET)")
    p.add_argument("--stack", default=None, help="a deployed stack name (default: env STACK)")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="the emulator's kept state")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    a = p.parse_args(argv)
    if not a.run_id:
        print("ERROR: say which run: make status RUN=<run id>", file=sys.stderr)
        return 2
    try:
        with target_for(a.run_id, a.bucket, a.stack, a.state_dir) as target:
            status = run_status(target.s3, target.bucket, a.run_id, config())
    except LookupError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    except deployed_package("checkpoint").CheckpointError as exc:  # e.g. written by newer code
        print(f"ERROR: run {a.run_id}: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    status.setdefault("checked_at", time.time())
    print(json.dumps(status, indent=1, default=str) if a.json else render(status))
    return EXIT_UNKNOWN if status.get("state") == "unknown" else 0


if __name__ == "__main__":
    sys.exit(main())
