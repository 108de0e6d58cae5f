"""moto's S3 server (the same WSGI app `moto_server` runs) with a byte counter in front of it.

Every GET response body is counted per request path, on the server side, so what a chain fetched
is measured whatever the handler's own bookkeeping says (uncommitted, killed and duplicate attempts
included). `GET /__bench__/counters` returns {path: {"requests": n, "bytes": b}}; `DELETE` resets.

Ranged GETs are served by the baked project's devtools.moto_ranges, as the emulator serves them:
S3 streams a range, where plain moto copies the whole object for each one (which the bytes chain
would measure instead of the handler).

Run as `python -m bench.moto_counting -H 127.0.0.1 -p <port>` (moto_server's arguments) with
moto[server] and the baked project on the path.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from devtools import moto_ranges
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

COUNTERS_PATH = "/__bench__/counters"
PIECE = 256 * 1024

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class CountingMiddleware:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.counts: dict[str, dict[str, int]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path == COUNTERS_PATH:
            with self.lock:
                if method == "DELETE":
                    self.counts.clear()
                body = json.dumps(self.counts).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if method != "GET":
            return self.app(environ, start_response)
        return self._counted(path, self.app(environ, start_response))

    def _counted(self, path: str, body: Iterable[bytes]) -> Iterator[bytes]:
        # Hand the body to the server in small pieces and count a piece once its write returned, so a
        # client that closes a stream early is charged what reached its socket, not the whole range.
        n = 0
        try:
            for chunk in body:
                for i in range(0, len(chunk), PIECE):
                    piece = chunk[i : i + PIECE]
                    yield piece
                    n += len(piece)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            with self.lock:
                entry = self.counts.setdefault(path, {"requests": 0, "bytes": 0})
                entry["requests"] += 1
                entry["bytes"] += n


def main(argv: list[str]) -> None:
    """moto_server's -H HOST -p PORT (devtools.s3_server.MotoServer starts it like moto_server)."""
    args = argparse.ArgumentParser(prog="python -m bench.moto_counting")
    args.add_argument("-H", "--host", default="127.0.0.1")
    args.add_argument("-p", "--port", type=int, required=True)
    a = args.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    moto_ranges.install()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(a.host, a.port, CountingMiddleware(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
