"""Parent side of the emulated execution environments: spawn, invoke with a deadline, kill, reuse.

Warm workers are reused newest-first (Lambda tends to hand the next event to the sandbox that just
freed), so module-level caches survive; a killed or timed-out sandbox is gone and the next
invocation starts cold, as in Lambda. One spare worker is kept initialised in the background so a
cold start costs its init once, not on the chain's critical path (it is still a cold sandbox: it has
served nothing and has an empty /tmp).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from .proc import stop_process
from .runtime import LambdaRuntime

_DEVTOOLS_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# How long after its deadline a worker that has not ended itself (stopped, or its watchdog
# starved) is SIGKILLed from outside.
STUCK_GRACE_S = 5.0


class WorkerDied(RuntimeError):
    """The worker process ended without answering."""


@dataclass
class Outcome:
    """How one invocation ended: ok | error | killed (fault) | timeout (deadline) | crashed."""

    kind: str
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0


@dataclass
class Worker:
    """One sandbox: a `python -m devtools.worker` process with its own /tmp."""

    proc: subprocess.Popen[bytes]
    sock: socket.socket
    tmpdir: str
    number: int
    invocations: int = 0
    init_ms: float | None = None
    init_error: dict[str, Any] | None = None
    _buf: bytes = field(default=b"", repr=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_line(self, until: float | None) -> dict[str, Any] | None:
        """The next JSON line, or None when `until` (monotonic) passes first. A line that reached
        the socket in time counts even if this thread wakes late (a loaded machine): the worker
        sent it, the worker is the one with the deadline."""
        while b"\n" not in self._buf:
            left = None if until is None else until - time.monotonic()
            self.sock.settimeout(None if left is None else max(left, 0.0))
            try:
                chunk = self.sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                return None
            except OSError as exc:
                raise WorkerDied(str(exc)) from None
            if not chunk:
                raise WorkerDied(f"worker {self.pid} closed its channel (exit {self.proc.poll()})")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        doc: dict[str, Any] = json.loads(line)
        return doc

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the init phase ends; records init time or the init error."""
        if self.init_ms is not None or self.init_error is not None:
            return
        try:
            msg = self._read_line(time.monotonic() + timeout_s)
        except WorkerDied as exc:
            msg = {
                "type": "init_error",
                "error": {"errorType": "Runtime.ExitError", "errorMessage": str(exc)},
            }
        if msg is None:
            msg = {
                "type": "init_error",
                "error": {"errorType": "Runtime.InitTimeout", "errorMessage": "init timed out"},
            }
        if msg["type"] == "ready":
            self.init_ms = float(msg["init_ms"])
        else:
            self.init_error = msg["error"]

    def invoke(
        self, event: Any, request_id: str, arn: str, timeout_ms: int, kill_after_ms: float | None, trace: str = ""
    ) -> Outcome:
        """Run one invocation. The worker ends itself at its deadline (devtools.worker), as Lambda's
        sandbox does whatever the host is doing; this side SIGKILLs it at `kill_after_ms` (fault),
        or if it has not ended STUCK_GRACE_S after the deadline."""
        self.wait_ready()
        if self.init_error is not None:
            self.kill()
            return Outcome("error", error=self.init_error)
        self.invocations += 1
        start = time.monotonic()
        deadline = start + timeout_ms / 1000
        killing = kill_after_ms is not None and kill_after_ms < timeout_ms
        until = start + kill_after_ms / 1000 if killing and kill_after_ms is not None else deadline + STUCK_GRACE_S
        msg = {"type": "invoke", "event": event, "request_id": request_id, "arn": arn, "deadline": deadline}
        msg["trace"] = trace
        try:
            self.sock.sendall(json.dumps(msg).encode() + b"\n")
            reply = self._read_line(until)
        except WorkerDied as exc:
            self.kill()
            if time.monotonic() >= deadline:  # the worker's own deadline watchdog ended it
                return self._timed_out(timeout_ms)
            return Outcome("crashed", error={"errorType": "Runtime.ExitError", "errorMessage": str(exc)})
        ms = (time.monotonic() - start) * 1000
        if reply is None:
            self.kill()
            if killing:
                error = {"errorType": "Emulator.Killed", "errorMessage": f"killed by fault injection after {ms:.0f} ms"}
                return Outcome("killed", error=error, duration_ms=ms)
            return self._timed_out(timeout_ms)
        ms = float(reply.get("duration_ms", ms))
        if reply.get("exited"):
            self.kill()
        if reply["ok"]:
            return Outcome("ok", result=reply["result"], duration_ms=ms)
        return Outcome("error", error=reply["error"], duration_ms=ms)

    @staticmethod
    def _timed_out(timeout_ms: int) -> Outcome:
        error = {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {timeout_ms} ms"}
        return Outcome("timeout", error=error, duration_ms=float(timeout_ms))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, reap, and drop the sandbox's /tmp."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            stop_process(self.proc, grace_s=1.0)
        self.sock.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class WorkerPool:
    """Hands out sandboxes: warm (reused) or fresh (cold), and cleans all of them up."""

    def __init__(
        self,
        handler: str,
        env: dict[str, str],
        cwd: str,
        log: IO[bytes] | None,
        pythonpath: list[str],
        spare: int = 1,
        on_spawn: Callable[[Worker], None] | None = None,
        runtime: LambdaRuntime | None = None,
    ) -> None:
        self.handler = handler
        self.runtime = runtime  # None: the project's virtualenv, with pythonpath and devtools
        self.env = env
        self.cwd = cwd
        self.log = log
        self.pythonpath = pythonpath
        self.spare_target = spare
        self.on_spawn = on_spawn
        self._lock = threading.RLock()
        self._released = threading.Condition(self._lock)
        self._busy = 0
        self._idle: list[Worker] = []
        self._spares: list[Worker] = []
        self._all: list[Worker] = []
        self._count = 0
        self._closed = False

    def _spawn(self) -> Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("pool is closed")
            self._count += 1
            number = self._count
        tmpdir = tempfile.mkdtemp(prefix=f"lambda-sandbox-{number}-")
        parent_sock, child_sock = socket.socketpair()
        if self.runtime is None:
            command, path = [sys.executable, "-m", "devtools.worker"], [*self.pythonpath, _DEVTOOLS_PARENT]
        else:
            command, path = self.runtime.command(), self.runtime.path(self.pythonpath[0])
        env = {
            **self.env,
            "TMPDIR": tmpdir,
            "AWS_LAMBDA_LOG_STREAM_NAME": f"2000/01/01/[$LATEST]sandbox{number:04d}",
            "PYTHONPATH": os.pathsep.join(path),
            "PYTHONUNBUFFERED": "1",
        }
        proc = subprocess.Popen(
            [*command, str(child_sock.fileno()), str(os.getpid()), self.handler],
            pass_fds=(child_sock.fileno(),),
            env=env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT if self.log is not None else None,
            start_new_session=True,  # Ctrl-C goes to the emulator, which stops workers by PID
        )
        child_sock.close()
        worker = Worker(proc=proc, sock=parent_sock, tmpdir=tmpdir, number=number)
        with self._lock:
            self._all.append(worker)
        if self.on_spawn:
            self.on_spawn(worker)
        return worker

    def _want_spare(self) -> bool:
        with self._lock:
            return not self._closed and len(self._spares) < self.spare_target

    def _top_up(self) -> None:
        if not self._want_spare():
            return
        try:
            worker = self._spawn()
        except RuntimeError:
            return
        worker.wait_ready()
        with self._lock:
            keep = not self._closed
            if keep:
                self._spares.append(worker)
        if not keep:
            worker.close()

    def _fresh(self) -> Worker:
        with self._lock:
            worker = self._spares.pop() if self._spares else None
        if self.spare_target:
            threading.Thread(target=self._top_up, daemon=True).start()
        return worker or self._spawn()

    def acquire(self, fresh: bool, warm_wait_s: float = 0.0) -> tuple[Worker, bool]:
        """A sandbox and whether Lambda would call this a recycle (a warm one was retired).

        `warm_wait_s` models Lambda's async queue latency: a self-invocation usually lands on the
        sandbox that sent it, which frees a moment later, rather than on a new one.
        """
        with self._released:
            if not self._idle and self._busy:
                self._released.wait_for(lambda: bool(self._idle), timeout=warm_wait_s)
            warm = self._idle.pop() if self._idle else None
            self._busy += 1
        if warm is not None and not fresh:
            return warm, False
        if warm is not None:
            warm.close()  # the container Lambda would have reused is gone
        return self._fresh(), warm is not None

    def release(self, worker: Worker) -> None:
        with self._released:
            self._busy -= 1
            self._released.notify_all()
            if worker.alive and worker.init_error is None and not self._closed:
                self._idle.append(worker)
                return
        worker.close()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._all]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
            self._spares.clear()
        for worker in workers:
            if worker.alive:
                worker.kill()
            else:
                worker.close()
