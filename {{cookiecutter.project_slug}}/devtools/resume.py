"""`make resume RUN=<id>`: continue a failed or stopped run from its last committed checkpoint.

Fix the cause first (raise MAX_HOPS after a depth-guard trip, a longer timeout after a no-progress
stop, whatever the on-failure queue says for a run whose async retries ran out); the run then goes
on from its newest checkpoint, keeping everything already committed, and ends like any run.

Deployed stack (--bucket/BUCKET or --stack/STACK; the function from the stack's outputs, or
--function/FUNCTION): sends the function the resume payload
{"kind":"recursive-s3-resume","bucket":B,"run_id":R} asynchronously; --wait polls until it ends.
Change the function's configuration (e.g. MAX_HOPS) with `make deploy` before resuming.

Local emulator (the default): `make simulate` keeps each run's bucket in .simulate/state; this
restores it into a fresh moto S3, runs the resume through the same Lambda emulator as simulate,
with --env NAME=value overriding the function's environment (the fix), writes OUTPUT and SUMMARY
like simulate, and keeps the new state again. Exits 0 exactly when the run succeeded.

    python -m devtools.resume RUN_ID [--env MAX_HOPS=5000] [--timeout-ms MS] [--output F] [--summary F]
    python -m devtools.resume RUN_ID --stack my-stack [--wait]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import project
from .cli_args import parse_env
from .emulator import for_this_project
from .local_state import DEFAULT_STATE_DIR, LocalState
from .package import config, deployed_package
from .run_report import committed_output, run_status
from .status import render
from .targets import Target, target_for

EXIT_FAILED, EXIT_USAGE = 1, 2


# -- resuming ---------------------------------------------------------------------------------------
def resume_event(bucket: str, run_id: str) -> dict[str, Any]:
    runs = deployed_package("runs")
    event: dict[str, Any] = runs.resume_event(bucket, run_id)
    return event


def resume_local(
    local: LocalState,
    s3: Any,
    run_id: str,
    env: dict[str, str],
    timeout_ms: int | None,
    state_dir: Path,
    output: Path | None = None,
    log: Path | None = None,
    max_wall_s: float = 1800.0,
    handler: str = project.HANDLER,
) -> dict[str, Any]:
    """Run the resume through the Lambda emulator against the restored bucket; keep the new state."""
    log_fh = None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log_fh = log.open("ab")
    emulator = for_this_project(
        s3_endpoint=local.server.endpoint,
        env={**local.env, **env},  # what the run had, then the fix
        handler=handler,
        timeout_ms=timeout_ms or local.timeout_ms,
        log=log_fh,
    )
    try:
        with emulator:
            emulator.submit_async(resume_event(local.bucket, run_id))
            finished = emulator.run(max_wall_s)
            stats = emulator.summary()
    finally:
        if log_fh is not None:
            log_fh.close()
    stats.pop("timeline", None)
    status = run_status(s3, local.bucket, run_id, config())
    status["resume"] = {
        k: stats[k] for k in ("invocations", "kills", "timeouts", "errors", "retries", "duplicates", "recycles")
    }
    if not finished:
        status["resume"]["error"] = f"still running after {max_wall_s:.0f} s"
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("wb") as fh:
            if status.get("state") == "succeeded":
                for chunk in committed_output(s3, local.bucket, run_id, config()):
                    fh.write(chunk)
    LocalState.save(s3, local.bucket, state_dir, {**local.env, **env}, timeout_ms or local.timeout_ms)
    return status


def resume_deployed(target: Target, run_id: str, wait_s: float, poll_s: float = 5.0) -> dict[str, Any]:
    if not target.function:
        raise LookupError("no function to invoke: pass --stack (or STACK) or --function (or FUNCTION)")
    before = run_status(target.s3, target.bucket, run_id, config())
    if before.get("state") == "unknown":
        raise LookupError(f"run {run_id} has no checkpoint in s3://{target.bucket}")
    target.lambda_client.invoke(
        FunctionName=target.function,
        InvocationType="Event",
        Payload=json.dumps(resume_event(target.bucket, run_id)).encode(),
    )
    print(f"sent the resume payload for run {run_id} to {target.function}", file=sys.stderr)
    status = before
    end = time.monotonic() + wait_s
    while wait_s > 0 and time.monotonic() < end:
        time.sleep(poll_s)
        status = run_status(target.s3, target.bucket, run_id, config())
        if status.get("state") != "running" and status.get("hop") != before.get("hop"):
            break
        if status.get("state") == "succeeded":
            break
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devtools.resume",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=(__doc__ or "").split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_id", metavar="RUN_ID", help="the run to continue")
    p.add_argument("--bucket", default=None, help="a deployed bucket (default: env BUCKET)")
    p.add_argument("--stack", default=None, help="a deployed stack name (default: env STACK)")
    p.add_argument("--function", default=None, help="the deployed function (default: stack output, env FUNCTION)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="deployed: poll status this long")
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="the emulator's kept state")
    p.add_argument("--env", action="append", default=[], help="local: function env NAME=value (the fix)")
    p.add_argument("--timeout-ms", type=int, default=None, help="local: the function timeout (default: as simulated)")
    p.add_argument("--output", type=Path, default=None, help="local: where to write the committed output")
    p.add_argument("--summary", type=Path, default=None, help="where to write the final status as JSON")
    p.add_argument("--log", type=Path, default=Path(".simulate/resume.log"), help="local: handler + emulator log")
    p.add_argument("--max-wall-s", type=float, default=1800.0, help="local: safety timeout")
    p.add_argument(
        "--handler",
        default=project.HANDLER,
        help="the handler the emulator runs (tests: devtools.passthrough.lambda_handler, their own process.py)",
    )
    try:
        a = p.parse_args(argv)
        env = parse_env(a.env)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        return int(exc.code or 0)
    local = False
    try:
        with target_for(a.run_id, a.bucket, a.stack, a.state_dir, a.function) as target:
            local = target.local is not None
            if target.local is not None:
                status = resume_local(
                    target.local,
                    target.s3,
                    a.run_id,
                    env,
                    a.timeout_ms,
                    a.state_dir,
                    a.output,
                    a.log,
                    a.max_wall_s,
                    a.handler,
                )
            else:
                if env or a.timeout_ms:
                    print("ERROR: --env/--timeout-ms apply to local runs; redeploy to change a stack", file=sys.stderr)
                    return EXIT_USAGE
                status = resume_deployed(target, a.run_id, a.wait)
    except LookupError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if a.summary is not None:
        a.summary.parent.mkdir(parents=True, exist_ok=True)
        a.summary.write_text(json.dumps(status, indent=1, default=str) + "\n")
    print(render(status))
    if local or a.wait > 0:
        return 0 if status.get("state") == "succeeded" else EXIT_FAILED
    return 0  # sent; `make status RUN=...` follows it


if __name__ == "__main__":
    sys.exit(main())
