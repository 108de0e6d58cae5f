"""`make simulate`: run the deployed handler's whole recursive chain on this machine.

Starts moto's S3 server and the Lambda emulator on 127.0.0.1, uploads INPUT under the input prefix,
sends the S3 ObjectCreated event and lets the chain run under the real deadline (TIMEOUT_MS), with
the faults asked for, until nothing is queued or running. Then it writes OUTPUT (the committed
output, or an empty file when the run failed) and SUMMARY (JSON), prints what happened, and exits 0
exactly when the run succeeded. Everything it started is stopped by PID on the way out, including
on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import atexit
import json
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from . import local_build, project
from .cli_args import parse_env
from .emulator import Emulator, allowed_concurrency, for_this_project
from .faults import Faults, FaultSpecError
from .local_state import LocalState
from .package import config
from .run_report import listed_parts
from .runtime import LambdaRuntime, MissingRuntimeError, check_python
from .s3_docs import get_json, make_bucket, s3_event
from .s3_server import MotoServer
from .timeline import Progress, checkpoints, hop_timeline, range_timeline, render_summary, render_timeline

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


@dataclass
class Options:
    input: Path
    timeout_ms: int  # parse_args: TIMEOUT_MS, else the function's Timeout in template.yaml
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None
    output: Path | None = None
    summary: Path | None = None
    log: Path | None = None  # None: the handler's logs go to the terminal (VERBOSE=1)
    key: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    max_wall_s: float = 1800.0
    concurrency: int = 4
    progress: bool = True
    project_dir: Path = field(default_factory=Path.cwd)
    keep_state: Path | None = None  # keep the run's bucket here for `make status` / `make resume`
    handler: str = project.HANDLER  # tests run "devtools.passthrough.lambda_handler" (their own process.py)
    # A build of the function (sam build's output) to run as Lambda would, on the runtime's Python
    # with only the SDK beside it (runtime.py); None: src/ in this virtualenv.
    code_dir: Path | None = None
    runtime_python: str = ""
    build: bool = False  # main() runs local_build first and sets code_dir (make simulate BUILD=1)
    sam: str = "sam"


# Stoppers for what a run has started: its ExitStack calls them (_Started.own), and atexit does too
# in case the interpreter is leaving some other way. Each is idempotent.
_LIVE: list[Any] = []


@atexit.register
def _stop_live() -> None:
    while _LIVE:
        _LIVE.pop()()


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: stop everything and report a failed run."""


def input_key(path: Path, explicit: str | None) -> str:
    """Where INPUT lands: --key as given (the trigger's filter decides whether it starts a run, as
    S3's does), else under the input prefix and ending with the input suffix, so that it does."""
    if explicit:
        return explicit
    key = f"{project.INPUT_PREFIX}{path.name}"
    return key if project.FUNCTION.trigger.matches(key) else key + project.INPUT_SUFFIX


def outside_the_trigger(key: str) -> str | None:
    """Why an upload of `key` starts no run (S3 sends no event for it), or None when it does."""
    trigger = project.FUNCTION.trigger
    if trigger.matches(key):
        return None
    return (
        f"{key!r} is outside the trigger's filter (prefix {trigger.prefix!r}, suffixes {trigger.suffixes or 'any'}): "
        "S3 sends no event for it, so no run starts, as in AWS"
    )


def changed_copy(data: bytes) -> bytes:
    """Different bytes, same size (so only the ETag can tell): flip one letter or digit near the middle."""
    if not data:
        return b"x"
    out = bytearray(data)
    mid = len(out) // 2
    for i in [*range(mid, len(out)), *range(mid)]:
        c = out[i]
        if 0x30 <= c <= 0x39 or 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A:
            out[i] = c ^ 0x01 if not 0x39 <= c ^ 0x01 <= 0x40 else c
            if out[i] != c:
                return bytes(out)
    out[mid] ^= 0x01
    return bytes(out)


def run_ids(s3: Any, bucket: str) -> list[str]:
    """The ids of the runs recorded in `bucket`'s state prefix."""
    prefix = f"{project.STATE_PREFIX}runs/"
    seen: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        seen += [p["Prefix"][len(prefix) : -1] for p in page.get("CommonPrefixes", [])]
    return seen


def cache_hits_from_log(path: Path | None, since: int) -> int | None:
    """Sum the handler's CacheHits EMF metric from the worker log (None when logs went to the terminal)."""
    if path is None or not path.exists():
        return None
    total = 0
    with path.open("rb") as fh:
        fh.seek(since)
        for line in fh:
            if b'"CacheHits"' not in line or not line.startswith(b"{"):
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            value = doc.get("CacheHits")
            if isinstance(value, int | float):
                total += int(value)
            elif isinstance(value, list):
                total += int(sum(value))
    return total


@dataclass
class _Started:
    """What one simulation has started: stopped in reverse order on the way out (the ExitStack),
    and by atexit if the interpreter leaves some other way (_LIVE)."""

    stack: ExitStack
    emulator: Emulator | None = None

    def own(self, stop: Callable[[], None]) -> None:
        _LIVE.append(stop)

        def stop_once() -> None:
            if stop in _LIVE:
                _LIVE.remove(stop)
                stop()

        self.stack.callback(stop_once)


def run(opts: Options, server: MotoServer | None = None) -> dict[str, Any]:
    """Run one simulation and return its SUMMARY; writes OUTPUT/SUMMARY when asked.

    `server` lets tests share one moto server; each run gets its own bucket either way.
    """
    data = opts.input.read_bytes()
    started_at = time.monotonic()
    summary: dict[str, Any] = _blank_summary(opts, len(data))
    with ExitStack() as stack:
        started = _Started(stack)
        try:
            summary = _simulate(opts, data, server, started)
        except (KeyboardInterrupt, Interrupted):
            summary = _interrupted(summary, started.emulator, opts)
    summary.setdefault("wall_ms", round((time.monotonic() - started_at) * 1000))
    if opts.summary is not None:
        opts.summary.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def _simulate(opts: Options, data: bytes, server: MotoServer | None, started: _Started) -> dict[str, Any]:
    """Upload INPUT, send its S3 event (if the trigger matches it) and run the chain to its end."""
    t0 = time.monotonic()
    log, log_start = _open_log(opts, started)
    srv = server or _own_server(started)
    s3 = srv.client(region=project.REGION)
    bucket, key = f"simulate-{uuid.uuid4().hex[:12]}", input_key(opts.input, opts.key)
    make_bucket(s3, bucket, project.REGION)
    etag = s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"]
    emulator = _start_emulator(opts, srv, log, _faults_before_hop(opts, s3, bucket, key, data, started), started)
    progress = None
    if opts.progress:
        progress = Progress(lambda: _poll(s3, bucket, emulator, len(data))).start()
        started.stack.callback(progress.stop)
    untriggered = outside_the_trigger(key)
    if untriggered is None:
        emulator.submit_async(s3_event(bucket, key, etag, len(data), project.REGION))
    else:
        emulator._note(f"no S3 event: {untriggered}")
    finished = emulator.run(opts.max_wall_s)
    if progress is not None:
        progress.stop()
    summary = _collect(s3, bucket, emulator, len(data), finished, opts)
    if untriggered is not None:
        summary["error"] = untriggered
    if opts.keep_state is not None:
        LocalState.save(s3, bucket, opts.keep_state, opts.env, opts.timeout_ms)
    summary["cache_hits"] = summary.get("cache_hits") or cache_hits_from_log(opts.log, log_start)
    summary["wall_ms"] = round((time.monotonic() - t0) * 1000)
    if opts.output is not None:
        _write_output(s3, bucket, summary, opts.output)
    return summary


def _open_log(opts: Options, started: _Started) -> tuple[IO[bytes] | None, int]:
    """The handler's and the emulator's log (None: the terminal), and where this run starts in it."""
    if opts.log is None:
        return None, 0
    opts.log.parent.mkdir(parents=True, exist_ok=True)
    log = started.stack.enter_context(opts.log.open("ab"))
    return log, log.tell()


def _own_server(started: _Started) -> MotoServer:
    srv = MotoServer()
    started.own(srv.stop)
    return srv.start()


def _start_emulator(
    opts: Options, srv: MotoServer, log: IO[bytes] | None, before_hop: Callable[[int], None], started: _Started
) -> Emulator:
    """The function as template.yaml configures it, running src/ in this virtualenv or, with a
    code dir (BUILD=1), that build on the runtime's Python with only the SDK beside it."""
    code, runtime = [str(opts.project_dir / "src"), str(opts.project_dir)], None
    if opts.code_dir is not None:
        runtime = LambdaRuntime.prepare(opts.runtime_python, project.FUNCTION.runtime)
        started.own(runtime.close)
        code = [str(opts.code_dir)]
    emulator = for_this_project(
        s3_endpoint=srv.endpoint,
        env=opts.env,
        concurrency=opts.concurrency,
        handler=opts.handler,
        timeout_ms=opts.timeout_ms,
        faults=opts.faults,
        seed=opts.seed,
        cwd=str(opts.project_dir),
        pythonpath=code,
        runtime=runtime,
        log=log,
        before_hop=before_hop,
    )
    started.emulator = emulator
    started.own(emulator.close)
    emulator.start()
    emulator._note(f"moto_server pid {srv.pid} port {srv.port}; lambda api port {emulator.lambda_port}")
    if runtime is None:
        emulator._note(
            f"sandboxes run src/ on this .venv's Python {sys.version_info.major}.{sys.version_info.minor}; "
            f"the function's runtime is {project.FUNCTION.runtime} (BUILD=1 runs the sam build on it)"
        )
    return emulator


def _faults_before_hop(
    opts: Options, s3: Any, bucket: str, key: str, data: bytes, started: _Started
) -> Callable[[int], None]:
    """The faults that happen between hops, once each: overwrite:H replaces the object (no S3
    event), deploy:H publishes a new version (the run must stay on the one it started on)."""
    done: set[str] = set()
    once = threading.Lock()  # duplicate deliveries of a hop arrive here at the same time

    def first_time(what: str) -> bool:
        with once:
            new = what not in done
            done.add(what)
            return new

    def before_hop(hop: int) -> None:
        emulator = started.emulator
        if opts.faults.overwrite == hop and first_time("overwrite"):
            s3.put_object(Bucket=bucket, Key=key, Body=changed_copy(data))
            if emulator is not None:
                emulator.stats.overwrites += 1
                emulator._note(f"overwrote s3://{bucket}/{key} before hop {hop} (no S3 event sent)")
        if opts.faults.deploy == hop and emulator is not None and first_time("deploy"):
            emulator.publish_version()

    return before_hop


def _interrupted(summary: dict[str, Any], emulator: Emulator | None, opts: Options) -> dict[str, Any]:
    """Ctrl-C or SIGTERM: what had run, a failed status, and an empty OUTPUT."""
    if emulator is not None:
        stats = emulator.summary()
        stats.pop("timeline")
        summary = {**summary, **stats}
    if opts.output is not None:
        opts.output.write_bytes(b"")
    return {**summary, "status": "failed", "error": "interrupted (Ctrl-C or SIGTERM)", "interrupted": True}


def _settings(opts: Options) -> dict[str, Any]:
    """What the run was asked to do, as SUMMARY reports it."""
    return {
        "timeout_ms": opts.timeout_ms,
        "concurrency": allowed_concurrency(opts.concurrency),
        "faults": opts.faults.describe(),
        "seed": opts.seed,
        "code": "src/" if opts.code_dir is None else str(opts.code_dir),
    }


def _blank_summary(opts: Options, size: int) -> dict[str, Any]:
    """Every SUMMARY key, for runs that end before there is anything to collect."""
    return {
        "status": "failed",
        "error": "did not start",
        "hops": 0,
        "ranges": 1,
        "records": None,
        "bad_records": None,
        "bytes_fetched": None,
        "object_size": size,
        "result": None,
        "cache_hits": None,
        **_settings(opts),
        "invocations": 0,
        "cold_starts": 0,
        "kills": 0,
        "timeouts": 0,
        "retries": 0,
        "duplicates": 0,
        "recycles": 0,
        "on_failure": [],
        "timeline": [],
    }


def _timeline(s3: Any, bucket: str, run_id: str | None, rows: list[Any], cps: dict[int, Any]) -> list[Any]:
    if run_id and any(r.get("chain") for r in rows):
        return range_timeline(rows, lambda chain: checkpoints(s3, bucket, project.STATE_PREFIX, run_id, chain))
    return hop_timeline(rows, cps)


def _ranges(s3: Any, bucket: str, run_id: str | None) -> int:
    """How many range chains read the run: its plan's (fan-out), else 1."""
    plan = get_json(s3, bucket, f"{project.STATE_PREFIX}runs/{run_id}/plan.json") if run_id else None
    return len(plan["bounds"]) - 1 if plan else 1


def _poll(s3: Any, bucket: str, emulator: Emulator, size: int) -> tuple[int, int, dict[str, int]]:
    st = emulator.stats
    hops = [r.hop for r in emulator.timeline if r.hop is not None]
    counters = {
        "hop": max(hops, default=0),
        "kills": st.kills,
        "retries": st.retries,
        "duplicates": st.duplicates,
    }
    offset = 0
    for run_id in run_ids(s3, bucket)[-1:]:
        cps = s3.list_objects_v2(Bucket=bucket, Prefix=f"{project.STATE_PREFIX}runs/{run_id}/checkpoints/")
        keys = sorted(o["Key"] for o in cps.get("Contents", []))
        if keys:
            offset = int(json.loads(s3.get_object(Bucket=bucket, Key=keys[-1])["Body"].read())["offset"])
    return offset, size, counters


def _collect(s3: Any, bucket: str, emulator: Emulator, size: int, finished: bool, opts: Options) -> dict[str, Any]:
    """Decide how the run ended from what it committed (manifest or outcome), not from the emulator."""
    em = emulator.summary()
    rows = em.pop("timeline")
    runs = run_ids(s3, bucket)
    manifest = outcome = None
    run_id = runs[-1] if runs else None
    for rid in runs:
        m = get_json(s3, bucket, f"{project.OUTPUT_PREFIX}{rid}/manifest.json")
        o = get_json(s3, bucket, f"{project.STATE_PREFIX}runs/{rid}/checkpoints/outcome.json")
        if m is not None and m.get("status") == "succeeded":
            manifest, run_id = m, rid
        elif o is not None and o.get("status") != "abandoned" and manifest is None:
            outcome, run_id = o, rid
    cps = checkpoints(s3, bucket, project.STATE_PREFIX, run_id) if run_id else {}
    latest = cps[max(cps)] if cps else {}
    summary: dict[str, Any] = {
        "status": "succeeded" if manifest is not None and finished else "failed",
        "run_id": run_id,
        "runs": runs,
        "hops": manifest["hops"] if manifest else len({r["hop"] for r in rows if r["hop"] is not None}),
        "ranges": _ranges(s3, bucket, run_id),
        "records": (manifest or latest).get("records"),
        "bad_records": (manifest or latest).get("bad_records"),
        "output_items": (manifest or latest).get("output_items"),
        "bytes_fetched": (manifest or latest).get("bytes_fetched"),
        "object_size": size,
        "result": manifest.get("result") if manifest else None,
        "cache_hits": manifest.get("cache_hits") if manifest else None,
        **_settings(opts),
        **em,
        "timeline": _timeline(s3, bucket, run_id, rows, cps),
        "invocation_log": rows,
        "uncommitted_output": uncommitted_output(s3, bucket),
    }
    if summary["status"] != "succeeded":
        summary["error"] = _failure(manifest, outcome, em, finished, opts)
    return summary


def uncommitted_output(s3: Any, bucket: str) -> list[str]:
    """Keys under the output prefix that are neither a run's manifest nor a part its manifest (or,
    before it has one, its chains' newest checkpoints) lists: what a reader of the output prefix
    should never see."""
    committed: set[str] = set()
    for rid in run_ids(s3, bucket):
        manifest = get_json(s3, bucket, f"{project.OUTPUT_PREFIX}{rid}/manifest.json")
        if manifest is None:
            committed.update(listed_parts(s3, bucket, rid, config()))
        else:
            committed.update(part["key"] for part in manifest.get("parts", []))
            committed.add(f"{project.OUTPUT_PREFIX}{rid}/manifest.json")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=project.OUTPUT_PREFIX)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []) if obj["Key"] not in committed)


def _failure(
    manifest: dict[str, Any] | None,
    outcome: dict[str, Any] | None,
    em: dict[str, Any],
    finished: bool,
    opts: Options,
) -> str:
    if not finished:
        return f"the chain was still running after {opts.max_wall_s:.0f} s (safety timeout)"
    if outcome is not None:
        return f"{outcome.get('error_type', 'Error')}: {outcome.get('error')}"
    if em["on_failure"]:
        err = em["on_failure"][-1].get("responsePayload") or {}
        return f"retries exhausted: {err.get('errorType')}: {err.get('errorMessage')}"
    return "the chain stopped without a manifest or an outcome (see the log)"


def _write_output(s3: Any, bucket: str, summary: dict[str, Any], path: Path) -> None:
    """The committed output = the manifest's parts in order; nothing at all for a failed run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        if summary["status"] != "succeeded":
            return
        manifest = get_json(s3, bucket, f"{project.OUTPUT_PREFIX}{summary['run_id']}/manifest.json") or {}
        for part in manifest.get("parts", []):
            out.write(s3.get_object(Bucket=bucket, Key=part["key"])["Body"].read())


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m devtools.simulate", description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True, type=Path, help="the file to upload and process")
    p.add_argument(
        "--timeout-ms", type=int, default=None, help="the function timeout (default: template.yaml's; >= 100 sensible)"
    )
    p.add_argument("--faults", default="", help="kill:P,duplicate:P,recycle:P,overwrite:H,deploy:H,retries:N")
    p.add_argument("--seed", type=int, default=None, help="makes the faults repeatable")
    p.add_argument("--output", type=Path, default=None, help="where to write the committed output")
    p.add_argument("--summary", type=Path, default=None, help="where to write the JSON summary")
    p.add_argument("--log", type=Path, default=Path(".simulate/simulate.log"), help="handler + emulator log")
    p.add_argument("--verbose", action="store_true", help="handler logs to the terminal instead of --log")
    p.add_argument("--key", default=None, help="S3 key for INPUT (default: input prefix + file name + input suffix)")
    p.add_argument("--env", action="append", default=[], help="extra function env NAME=value (repeatable)")
    p.add_argument("--max-wall-s", type=float, default=1800.0, help="safety timeout for the whole run")
    p.add_argument(
        "--concurrency", type=int, default=4, help="sandboxes that may run at once (at most the reserved concurrency)"
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--keep-state", type=Path, default=None, help="keep the run here for make status/resume")
    p.add_argument(
        "--handler",
        default=project.HANDLER,
        help="the handler the emulator runs (tests: devtools.passthrough.lambda_handler, their own process.py)",
    )
    p.add_argument("--build", action="store_true", help="sam build the function for this machine and run that")
    p.add_argument("--code-dir", type=Path, default=None, help="run this sam build output of the function instead")
    p.add_argument("--sam", default="sam", help="the SAM CLI --build runs")
    p.add_argument(
        "--runtime-python", default="", help="the runtime's Python for --build/--code-dir (default: as make deploy's)"
    )
    return p


def parse_args(argv: list[str] | None) -> Options:
    a = _parser().parse_args(argv)
    if not a.input.is_file():
        raise SystemExit(f"ERROR: INPUT={a.input} is not a file")
    python = ""
    if a.build or a.code_dir is not None:
        try:
            python = local_build.runtime_python() if not a.runtime_python else a.runtime_python
            check_python(python, project.FUNCTION.runtime)
        except MissingRuntimeError as exc:
            raise SystemExit(f"ERROR: {exc}") from None
    package = project.HANDLER.split(".")[0]
    if a.code_dir is not None and not (a.code_dir / package).is_dir():
        raise SystemExit(f"ERROR: --code-dir {a.code_dir} holds no {package}/: it is not a build of this function")
    timeout_ms = project.FUNCTION.timeout_s * 1000 if a.timeout_ms is None else a.timeout_ms
    if timeout_ms < 1:
        raise SystemExit("ERROR: TIMEOUT_MS must be a positive number of milliseconds")
    try:
        faults = Faults.parse(a.faults, default_retries=project.ASYNC_RETRIES)
    except FaultSpecError as exc:
        raise SystemExit(f"ERROR: {exc}") from None
    return Options(
        input=a.input,
        timeout_ms=timeout_ms,
        faults=faults,
        seed=a.seed,
        output=a.output,
        summary=a.summary,
        log=None if a.verbose else a.log,
        key=a.key,
        env=parse_env(a.env),
        max_wall_s=a.max_wall_s,
        concurrency=a.concurrency,
        progress=not a.no_progress,
        keep_state=a.keep_state,
        handler=a.handler,
        code_dir=a.code_dir,
        runtime_python=python,
        build=a.build,
        sam=a.sam,
    )


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    try:
        opts = parse_args(argv)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        return int(exc.code or 0)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    if opts.build:
        print(f"simulate: sam build for this machine ({local_build.machine_architecture()}) ...", flush=True)
        try:
            opts = replace(opts, code_dir=local_build.build(opts.sam, opts.runtime_python, project.CONFIG_ENV))
        except local_build.BuildError as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return EXIT_FAILED
    summary = run(opts)
    print(render_summary(summary))
    if summary.get("timeline"):
        print(render_timeline(summary["timeline"]))
    where = [
        f"output {opts.output}" if opts.output else "",
        f"summary {opts.summary}" if opts.summary else "",
    ]
    where.append(f"logs {opts.log}" if opts.log else "logs: terminal")
    print("  " + "   ".join(w for w in where if w))
    run_id = summary.get("run_id")
    if opts.keep_state is not None and run_id:
        again = "" if summary["status"] == "succeeded" else f"   make resume RUN={run_id}  (after fixing the cause)"
        print(f"  make status RUN={run_id}{again}")
    if summary.get("interrupted"):
        return EXIT_INTERRUPTED
    return 0 if summary["status"] == "succeeded" else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
