"""Lambda's Invoke API on 127.0.0.1, so the handler's own boto3 `lambda.invoke` works unchanged.

Only `POST /2015-03-31/functions/{name}/invocations` is served, with Lambda's status codes:
Event -> 202 (queued), RequestResponse -> 200 with the result (X-Amz-Function-Error on a function
error), DryRun -> 204; unknown function -> 404, payload over the limit -> 413.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .pool import Outcome

ASYNC_PAYLOAD_LIMIT = 1024 * 1024  # 1 MB since 2025 (was 256 KB)
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")


class Backend(Protocol):
    function_name: str

    def submit_async(self, payload: Any, qualifier: str | None = None, lineage: int = 0) -> str: ...

    def invoke_sync(self, payload: Any, qualifier: str | None = None) -> tuple[str, Outcome]: ...

    def resolve(self, qualifier: str | None) -> str: ...

    def api_request(self, delta: int) -> None: ...


def function_matches(requested: str, function_name: str) -> bool:
    """Name, partial ARN or full ARN, with or without a qualifier, as Lambda accepts them."""
    parts = unquote(requested).split(":")
    if len(parts) == 1:
        return parts[0] == function_name
    if parts[0] == "arn":
        return len(parts) >= 7 and parts[5] == "function" and parts[6] == function_name
    return function_name in parts[:3]  # "123456789012:function:name" or "name:qualifier"


def qualifier_of(requested: str) -> str | None:
    """The version or alias a FunctionName names (`name:7`, `...:function:name:live`), else None."""
    parts = unquote(requested).split(":")
    if parts[0] == "arn":
        return parts[7] if len(parts) > 7 else None
    if len(parts) in (2, 4):  # "name:qualifier" or "123456789012:function:name:qualifier"
        return parts[-1]
    return None


def lineage_after(trace_header: str | None) -> int:
    """The loop count of an event sent with this X-Ray trace header: one more than the sending
    invocation's `Lineage=<id>:<count>` (0 for an event no invocation sent)."""
    for part in (trace_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "Lineage" and value.rpartition(":")[2].isdigit():
            return int(value.rpartition(":")[2]) + 1
    return 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging: the emulator reports invocations itself."""

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"Type": "User", "message": message}).encode()
        self._reply(status, body, {"x-amzn-ErrorType": error_type})

    def do_POST(self) -> None:
        backend = self.server.backend
        backend.api_request(+1)
        try:
            self._invoke(backend)
        finally:
            backend.api_request(-1)

    def _invoke(self, backend: Backend) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:  # the caller died mid-request (a sandbox at its deadline): Lambda never got it
            return
        match = _PATH.fullmatch(urlsplit(self.path).path)
        if not match:
            self._error(404, "UnknownOperationException", f"not emulated: POST {self.path}")
            return
        if not function_matches(match["name"], backend.function_name):
            self._error(404, "ResourceNotFoundException", f"Function not found: {unquote(match['name'])}")
            return
        qualifier = qualifier_of(match["name"])
        try:
            version = backend.resolve(qualifier)
        except KeyError:
            self._error(404, "ResourceNotFoundException", f"Function not found: {unquote(match['name'])}")
            return
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        limit = ASYNC_PAYLOAD_LIMIT if kind == "Event" else SYNC_PAYLOAD_LIMIT
        if len(body) > limit:
            self._error(413, "RequestEntityTooLargeException", f"{len(body)} byte payload exceeds {limit} bytes")
            return
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            self._error(400, "InvalidRequestContentException", "Could not parse request body into json")
            return
        if kind == "DryRun":
            self._reply(204, b"")
        elif kind == "Event":
            request_id = backend.submit_async(payload, qualifier, lineage_after(self.headers.get("X-Amzn-Trace-Id")))
            self._reply(202, b"", {"x-amzn-RequestId": request_id})
        elif kind == "RequestResponse":
            request_id, outcome = backend.invoke_sync(payload, qualifier)
            headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": version}
            if outcome.kind == "ok":
                self._reply(200, json.dumps(outcome.result).encode(), headers)
            else:
                headers["X-Amz-Function-Error"] = "Unhandled"
                self._reply(200, json.dumps(outcome.error).encode(), headers)
        else:
            self._error(400, "InvalidParameterValueException", f"unknown X-Amz-Invocation-Type {kind!r}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    backend: Backend

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sandbox killed mid-request resets its connection; that is the fault, not a server bug."""


class LambdaApiServer:
    """Serves the Invoke API for one function on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, backend: Backend) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.backend = backend
        self._thread = threading.Thread(target=self._server.serve_forever, name="lambda-api", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LambdaApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
