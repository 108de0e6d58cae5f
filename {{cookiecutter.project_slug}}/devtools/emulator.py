"""The Lambda emulator: async event queue, retries, on-failure records, faults, sandboxes.

It plays the part of the Lambda service for one function: events reach it from the Invoke API (the
handler's own self-invocations) or from `submit_async` (the S3 notification), wait in a queue, run
in worker sandboxes under the function timeout, and on failure (exception, crash, timeout, kill)
are retried `retries` times before landing in an on-failure record, like an SQS destination.

Like a function with AutoPublishAlias, it has published versions: each is a snapshot of the code
taken when it was published (`publish_version`, what a deploy does), with its own sandboxes, and the
alias points at the newest. An event names the alias, a version number or nothing (the alias).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import IO, Any

from . import project
from .faults import FaultPlan, Faults, InvocationFaults
from .lambda_api import LambdaApiServer
from .pool import Outcome, Worker, WorkerPool
from .runtime import LambdaRuntime
from .s3_server import DUMMY_CREDENTIALS

Listener = Callable[[str, "Invocation"], None]


def hop_of(payload: Any) -> int | None:
    """The hop an event starts: 0 for an S3 notification, the payload's `hop` for a continuation."""
    if not isinstance(payload, dict):
        return None
    if "Records" in payload or payload.get("detail-type") == "Object Created":
        return 0
    hop = payload.get("hop")
    return hop if isinstance(hop, int) and not isinstance(hop, bool) else None


# Lambda stops a chain of requests that has invoked a function this many times, unless the
# function sets RecursiveLoop: Allow (it tracks the count in the X-Ray header's Lineage field).
RECURSION_LIMIT = 16
_LINEAGE_ID = "5e1f1009"  # the emulated function's id in Lineage=<id>:<count>


@dataclass
class AsyncEvent:
    payload: Any
    request_id: str
    version: str = "1"  # the published version that runs it (the alias resolved when it arrived)
    qualifier: str = ""  # as invoked: the alias, a version number, or "" (unqualified)
    attempt: int = 0  # 0 = first delivery, n = n-th retry
    copy: int = 0  # 1 = the duplicate delivery of the same event
    not_before: float = 0.0
    lineage: int = 0  # invocations of the function before this one in its chain of requests


@dataclass
class Version:
    number: str
    pool: WorkerPool
    snapshot: str  # the code as published (removed when the emulator closes)


@dataclass
class Invocation:
    """One row of the emulator's timeline."""

    seq: int
    hop: int | None
    request_id: str
    invocation_type: str
    attempt: int
    copy: int
    chain: str = ""  # a fan-out run's range chain the hop belongs to (r0002g0), "" for the run's own
    version: str = "1"
    worker: int = 0
    pid: int = 0
    cold: bool = False
    recycled: bool = False
    start_ms: float = 0.0
    end_ms: float = 0.0
    outcome: str = "running"
    error: dict[str, Any] | None = None


@dataclass
class Stats:
    invocations: int = 0
    cold_starts: int = 0
    kills: int = 0
    timeouts: int = 0
    crashes: int = 0
    errors: int = 0
    retries: int = 0
    duplicates: int = 0
    recycles: int = 0
    overwrites: int = 0
    deploys: int = 0
    on_failure: list[dict[str, Any]] = field(default_factory=list)


class Emulator:
    """One emulated function. Use as a context manager, or call start()/close() (close is idempotent)."""

    def __init__(
        self,
        *,
        handler: str,
        function_name: str,
        function_env: dict[str, str],
        s3_endpoint: str,
        timeout_ms: int,
        faults: Faults | None = None,
        seed: int | None = None,
        region: str = "us-east-1",
        memory_mb: int = 1024,
        concurrency: int = 4,
        cwd: str | None = None,
        pythonpath: list[str] | None = None,
        runtime: LambdaRuntime | None = None,
        log: IO[bytes] | None = None,
        before_hop: Callable[[int], None] | None = None,
        listener: Listener | None = None,
        retry_delay_ms: float = 20.0,
        spare_workers: int = 1,
        warm_wait_ms: float = 30.0,
        alias: str = "live",
        recursive_loop: str = "Terminate",
    ) -> None:
        if timeout_ms < 1:
            raise ValueError("timeout_ms must be >= 1")
        self.function_name = function_name
        self.region = region
        self.timeout_ms = timeout_ms
        self.faults = faults or Faults()
        self.plan = FaultPlan(self.faults, seed)
        self.concurrency = max(1, concurrency)
        self.log = log
        self.before_hop = before_hop
        self.listener = listener
        self.retry_delay_ms = retry_delay_ms
        self.warm_wait_ms = warm_wait_ms
        self.arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.stats = Stats()
        self.timeline: list[Invocation] = []
        self._handler = handler
        self._function_env = dict(function_env)
        self._s3_endpoint = s3_endpoint
        self._memory_mb = memory_mb
        self._cwd = cwd or os.getcwd()
        self._pythonpath = pythonpath or [os.path.join(self._cwd, "src"), self._cwd]
        self._runtime = runtime  # None: sandboxes run in this virtualenv (see runtime.py)
        self._spare = spare_workers
        self._cond = threading.Condition()
        self._queue: list[AsyncEvent] = []
        self._active = 0
        self._api_inflight = 0
        self._t0 = time.monotonic()
        self._api: LambdaApiServer | None = None
        self.alias = alias
        self.recursive_loop = recursive_loop  # the function's RecursiveLoop: Terminate or Allow
        self._versions: dict[str, Version] = {}
        self._published = 0
        self._live = ""
        self._executor: ThreadPoolExecutor | None = None
        self.worker_pids: list[int] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Emulator:
        self._api = LambdaApiServer(self).start()
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="invoke")
        self._t0 = time.monotonic()
        self.publish_version()
        return self

    def publish_version(self, code_dir: str | None = None, env: dict[str, str] | None = None) -> str:
        """What a deploy does: snapshot the code (src/, or `code_dir`) as the next version, with its
        own sandboxes, and point the alias at it. Versions already running keep their code."""
        assert self._api is not None, "start() first"
        with self._cond:
            self._published += 1
            number = str(self._published)
        snapshot = tempfile.mkdtemp(prefix=f"lambda-{self.function_name}-v{number}-")
        shutil.copytree(
            code_dir or self._pythonpath[0], snapshot, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
        sandbox_env = {**self.sandbox_env(), **(env or {}), "AWS_LAMBDA_FUNCTION_VERSION": number}
        sandbox_env["LAMBDA_TASK_ROOT"] = snapshot
        pythonpath = [snapshot, *self._pythonpath[1:]]
        pool = WorkerPool(
            self._handler,
            sandbox_env,
            self._cwd,
            self.log,
            pythonpath,
            spare=self._spare,
            on_spawn=self._spawned,
            runtime=self._runtime,
        )
        with self._cond:
            self._versions[number] = Version(number, pool, snapshot)
            self._live = number
            self.stats.deploys += number != "1"
        if self._spare:
            threading.Thread(target=pool._top_up, daemon=True).start()
        self._note(f"published version {number}; alias {self.alias} -> {number}")
        return number

    def resolve(self, qualifier: str | None) -> str:
        """The version an invocation with this qualifier runs (KeyError: no such version or alias)."""
        with self._cond:
            if qualifier in (None, "", self.alias, "$LATEST"):
                return self._live
            if qualifier in self._versions:
                return qualifier
        raise KeyError(qualifier)

    def close(self) -> None:
        """Stop the API server and SIGKILL every sandbox; safe to call twice and from finally."""
        with self._cond:
            self._queue.clear()
            self._cond.notify_all()
        if self._api is not None:
            self._api.stop()
        for version in list(self._versions.values()):
            version.pool.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        for version in list(self._versions.values()):
            shutil.rmtree(version.snapshot, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def lambda_endpoint(self) -> str:
        assert self._api is not None, "start() first"
        return self._api.endpoint

    @property
    def lambda_port(self) -> int:
        assert self._api is not None, "start() first"
        return self._api.port

    def sandbox_env(self) -> dict[str, str]:
        """A clean Lambda-like environment: the function's variables plus what the runtime sets."""
        assert self._api is not None, "start() first"
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT")}
        return {
            **keep,
            **self._function_env,
            **DUMMY_CREDENTIALS,
            "TZ": ":UTC",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_S3": self._s3_endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": self._api.endpoint,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{self._python_version()}",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self._memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "LAMBDA_TASK_ROOT": self._pythonpath[0],
        }

    def _python_version(self) -> str:
        if self._runtime is not None:
            return self._runtime.version
        return f"{sys.version_info.major}.{sys.version_info.minor}"

    def _spawned(self, worker: Worker) -> None:
        self.worker_pids.append(worker.pid)
        self._note(f"sandbox {worker.number} started, pid {worker.pid}")

    def _note(self, text: str) -> None:
        line = f"[emulator +{self.elapsed_ms():.0f}ms] {text}\n".encode()
        if self.log is not None:
            os.write(self.log.fileno(), line)
        else:
            sys.stderr.buffer.write(line)
            sys.stderr.flush()

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self._t0) * 1000

    # -- the Invoke API backend -------------------------------------------------------------
    def api_request(self, delta: int) -> None:
        with self._cond:
            self._api_inflight += delta
            self._cond.notify_all()

    def submit_async(self, payload: Any, qualifier: str | None = None, lineage: int = 0) -> str:
        """Queue an async event (what Lambda does on InvocationType=Event); maybe twice (fault)."""
        version = self.resolve(qualifier)
        request_id = str(uuid.uuid4())
        now = time.monotonic()
        delay = self.plan.duplicate_delay_ms(self.timeout_ms)
        event = AsyncEvent(payload, request_id, version, qualifier or "", not_before=now, lineage=lineage)
        with self._cond:
            self._queue.append(event)
            if delay is not None:
                self.stats.duplicates += 1
                self._queue.append(replace(event, copy=1, not_before=now + delay / 1000))
            self._cond.notify_all()
        return request_id

    def invoke_sync(self, payload: Any, qualifier: str | None = None) -> tuple[str, Outcome]:
        """RequestResponse: run now, no retries (the caller sees the error)."""
        event = AsyncEvent(payload, str(uuid.uuid4()), self.resolve(qualifier), qualifier or "")
        with self._cond:
            self._active += 1
        try:
            _, outcome = self._invoke(event, "RequestResponse")
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()
        return event.request_id, outcome

    # -- scheduling ---------------------------------------------------------------------------
    def run(self, timeout_s: float) -> bool:
        """Dispatch queued events until nothing is queued, running or in flight; False on timeout."""
        assert self._executor is not None, "start() first"
        end = time.monotonic() + timeout_s
        idle_since: float | None = None
        with self._cond:
            while True:
                now = time.monotonic()
                if now >= end:
                    return False
                self._queue.sort(key=lambda e: e.not_before)
                while self._queue and self._queue[0].not_before <= now and self._active < self.concurrency:
                    event = self._queue.pop(0)
                    self._active += 1
                    self._executor.submit(self._run_async, event)
                busy = self._queue or self._active or self._api_inflight
                if busy:
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since >= 0.05:  # settle: a killed sandbox's last request may still land
                    return True
                wait = 0.01 if not busy else 0.05
                if self._queue and self._active < self.concurrency:
                    wait = max(0.0, min(wait, self._queue[0].not_before - now))
                self._cond.wait(timeout=wait)

    def _run_async(self, event: AsyncEvent) -> None:
        try:
            if self.recursive_loop == "Terminate" and event.lineage >= RECURSION_LIMIT:
                self._stop_loop(event)
                return
            _, outcome = self._invoke(event, "Event")
            if outcome.kind == "ok":
                return
            if event.attempt < self.faults.retries:
                with self._cond:
                    self.stats.retries += 1
                    later = time.monotonic() + self.retry_delay_ms / 1000
                    self._queue.append(replace(event, attempt=event.attempt + 1, not_before=later))
                return
            record = {
                "requestContext": {
                    "requestId": event.request_id,
                    "functionArn": f"{self.arn}:{event.version}",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": event.attempt + 1,
                },
                "requestPayload": event.payload,
                "responsePayload": outcome.error,
            }
            with self._cond:
                self.stats.on_failure.append(record)
            self._note(f"on-failure record for request {event.request_id}: {outcome.error}")
        except Exception as exc:  # an emulator bug must not hang the run: record it and move on
            with self._cond:
                self.stats.on_failure.append({"requestPayload": event.payload, "emulatorError": repr(exc)})
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def _stop_loop(self, event: AsyncEvent) -> None:
        """What Lambda does with RecursiveLoop=Terminate once a chain of requests has invoked the
        function RECURSION_LIMIT times: drop the next invocation, to the on-failure destination."""
        error = {
            "errorType": "RecursiveInvocationException",
            "errorMessage": f"Lambda stopped a recursive loop after {RECURSION_LIMIT} invocations "
            "(RecursiveLoop: Terminate; the function sets RecursiveLoop: Allow to run longer chains)",
        }
        record = {
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{self.arn}:{event.version}",
                "condition": "RecursiveInvocationException",
                "approximateInvokeCount": 0,
            },
            "requestPayload": event.payload,
            "responsePayload": error,
        }
        with self._cond:
            self.stats.on_failure.append(record)
        self._note(f"recursive loop stopped: request {event.request_id} (lineage {event.lineage}) not invoked")

    def _invoke(self, event: AsyncEvent, invocation_type: str) -> tuple[Invocation, Outcome]:
        payload, request_id, attempt, copy = event.payload, event.request_id, event.attempt, event.copy
        hop = hop_of(payload)
        if hop is not None and self.before_hop is not None:
            self.before_hop(hop)
        pool = self._versions[event.version].pool
        dice: InvocationFaults = self.plan.for_invocation(self.timeout_ms)
        worker, _ = pool.acquire(fresh=dice.recycle, warm_wait_s=self.warm_wait_ms / 1000)
        worker.wait_ready()
        with self._cond:
            self.stats.invocations += 1
            row = Invocation(
                seq=len(self.timeline),
                hop=hop,
                chain=str(payload.get("chain", "")) if isinstance(payload, dict) else "",
                request_id=request_id,
                invocation_type=invocation_type,
                attempt=attempt,
                copy=copy,
                version=event.version,
                worker=worker.number,
                pid=worker.pid,
                cold=worker.invocations == 0,
                recycled=dice.recycle,
                start_ms=self.elapsed_ms(),
            )
            self.timeline.append(row)
            self.stats.cold_starts += row.cold
            self.stats.recycles += dice.recycle
        self._emit("start", row)
        invoked_arn = f"{self.arn}:{event.qualifier}" if event.qualifier else self.arn
        trace = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0;Lineage={_LINEAGE_ID}:{event.lineage}"
        outcome = worker.invoke(payload, request_id, invoked_arn, self.timeout_ms, dice.kill_after_ms, trace)
        pool.release(worker)
        with self._cond:
            row.end_ms = self.elapsed_ms()
            row.outcome = outcome.kind
            row.error = outcome.error
            self.stats.kills += outcome.kind == "killed"
            self.stats.timeouts += outcome.kind == "timeout"
            self.stats.crashes += outcome.kind == "crashed"
            self.stats.errors += outcome.kind == "error"
        self._note(
            f"{row.chain + ' ' if row.chain else ''}hop {hop} {invocation_type} attempt {attempt}"
            f"{' (duplicate)' if copy else ''} on version "
            f"{event.version} sandbox "
            f"{worker.number}{' (cold)' if row.cold else ''}: {outcome.kind} in {outcome.duration_ms:.0f} ms"
            + (f" - {outcome.error.get('errorType')}: {outcome.error.get('errorMessage')}" if outcome.error else "")
        )
        self._emit("end", row)
        return row, outcome

    def _emit(self, what: str, row: Invocation) -> None:
        if self.listener is not None:
            try:
                self.listener(what, row)
            except Exception as exc:  # a display problem must never break the chain
                self._note(f"listener failed: {exc!r}")

    def summary(self) -> dict[str, Any]:
        with self._cond:
            return {**asdict(self.stats), "timeline": [asdict(r) for r in self.timeline]}


def allowed_concurrency(asked: int) -> int:
    """Sandboxes that may run at once: the function's reserved concurrency caps them, as in AWS
    (where a run's hops, duplicates and retries and other uploads' runs share those sandboxes)."""
    reserved = project.FUNCTION.reserved_concurrency
    if reserved == 0:
        raise SystemExit("ERROR: ReservedConcurrentExecutions is 0: AWS throttles every invocation of the function")
    return asked if reserved is None else min(asked, reserved)


def for_this_project(
    *, s3_endpoint: str, env: dict[str, str] | None = None, concurrency: int = 4, **options: Any
) -> Emulator:
    """This project's function as template.yaml configures it (name, environment with `env` on
    top, region, memory, RecursiveLoop; at most its reserved concurrency of sandboxes at once)."""
    return Emulator(
        function_name=project.FUNCTION_NAME,
        function_env={**project.function_env(), **(env or {})},
        s3_endpoint=s3_endpoint,
        region=project.REGION,
        memory_mb=project.MEMORY_MB,
        recursive_loop=project.FUNCTION.recursive_loop,
        concurrency=allowed_concurrency(concurrency),
        **options,
    )
