"""One emulated Lambda execution environment: a process that imports the handler once and serves
invocations, so module-level state (clients, the ETag cache) survives between warm invocations.

Run as `python -m devtools.worker <socket-fd> <parent-pid> <module.function>` by devtools.pool. The
control channel is a socket of JSON lines; stdout/stderr (the handler's logs) go wherever the pool
pointed them. The parent SIGKILLs this process at the invocation's deadline, as Lambda does.
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any], Any]


class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers use."""

    def __init__(self, request_id: str, deadline: float, env: dict[str, str], arn: str) -> None:
        self._deadline = deadline
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_doc(exc: BaseException) -> dict[str, Any]:
    """The shape Lambda reports for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[-8:],
    }


def load_handler(path: str) -> Handler:
    module_name, _, attr = path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attr)
    if not callable(handler):
        raise TypeError(f"{path} is not callable")
    return handler  # type: ignore[no-any-return]


def _warm_sdk() -> None:
    """Load botocore's S3 and Lambda models into the default session during init.

    Lambda's shortest timeout is 1 s; `make simulate` allows 100 ms, less than building a first S3
    client costs (~170 ms of model loading). Loading the models here, in the init phase that Lambda
    does not count against the timeout, keeps tiny timeouts usable. The handler still builds its
    own clients, with its own configuration; only the parsed model files are shared.
    """
    try:
        import boto3

        boto3.client("s3")
        boto3.client("lambda")
    except Exception:  # the handler will meet the same problem and report it properly
        return


def _watch_parent(parent: int) -> None:
    """Exit when the emulator is gone, even if the parent-death signal is unavailable."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _end_at_deadline(deadline: float) -> None:
    """At the deadline, print every thread's stack to the log and exit (a C watchdog thread: it
    fires even while the hop holds the GIL). Lambda's sandbox enforces its own deadline; doing it
    here means a loaded host cannot stretch a hop's time, and a timeout says where the time went."""
    sys.stderr.flush()
    faulthandler.dump_traceback_later(max(deadline - time.monotonic(), 0.001), exit=True)


def serve(sock: socket.socket, handler_path: str) -> int:
    """Init phase, then one invocation per request line until the channel closes."""
    rfile = sock.makefile("rb")

    def send(doc: dict[str, Any]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        sock.sendall(json.dumps(doc).encode() + b"\n")

    started = time.monotonic()
    try:
        handler = load_handler(handler_path)
    except Exception as exc:  # Lambda reports Runtime.ImportModuleError and retires the sandbox
        traceback.print_exc()
        send({"type": "init_error", "error": error_doc(exc)})
        return 1
    _warm_sdk()
    init_ms = (time.monotonic() - started) * 1000
    send({"type": "ready", "init_ms": init_ms})
    first = True
    for line in rfile:
        msg = json.loads(line)
        request_id = msg["request_id"]
        # The X-Ray trace header of this invocation: the SDK copies it into the requests the
        # handler makes (botocore's recursion detection), so a self-invocation carries its lineage.
        os.environ["_X_AMZN_TRACE_ID"] = msg.get("trace", "")
        ctx = LambdaContext(request_id, float(msg["deadline"]), dict(os.environ), msg["arn"])
        print(f"START RequestId: {request_id} Version: {ctx.function_version}", flush=True)
        t0 = time.monotonic()
        _end_at_deadline(float(msg["deadline"]))
        reply: dict[str, Any]
        try:
            result = handler(msg["event"], ctx)
        except Exception as exc:
            traceback.print_exc()
            reply = {"type": "result", "ok": False, "error": error_doc(exc)}
        except BaseException as exc:  # sys.exit() in a handler: Lambda restarts the sandbox
            send({"type": "result", "ok": False, "error": error_doc(exc), "exited": True})
            return 1
        else:
            try:
                json.dumps(result)
                reply = {"type": "result", "ok": True, "result": result}
            except (TypeError, ValueError) as exc:
                reply = {"type": "result", "ok": False, "error": error_doc(exc)}
                reply["error"]["errorType"] = "Runtime.MarshalError"
        faulthandler.cancel_dump_traceback_later()
        ms = (time.monotonic() - t0) * 1000
        reply["duration_ms"] = ms
        init = f" Init Duration: {init_ms:.2f} ms" if first else ""
        print(f"END RequestId: {request_id}", flush=True)
        print(f"REPORT RequestId: {request_id}\tDuration: {ms:.2f} ms{init}", flush=True)
        first = False
        send(reply)
    return 0


def main(argv: list[str]) -> int:
    fd, parent, handler_path = int(argv[0]), int(argv[1]), argv[2]
    # Not PR_SET_PDEATHSIG: it fires when the *thread* that spawned us ends, and the pool spawns
    # from short-lived threads. Watching getppid() catches the emulator's process dying.
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    with socket.socket(fileno=fd) as sock:
        return serve(sock, handler_path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
