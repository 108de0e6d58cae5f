"""A moto S3 server on 127.0.0.1, as a real subprocess stopped by its own PID.

A separate process (not ThreadedMotoServer) so that worker processes, the handler's boto3 and the
emulator all talk to one S3 over real HTTP, exactly as they would to AWS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.config import Config as BotoConfig

from .proc import free_port, guarded_argv, port_open, stop_process

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


# So that `python -m devtools.moto_ranges` imports this devtools whatever the caller's path.
_DEVTOOLS_PARENT = str(Path(__file__).resolve().parent.parent)


class S3ServerError(RuntimeError):
    """moto_server did not come up."""


# moto_server, with ranged GETs that read only their range; another module that takes moto_server's
# -H/-p arguments may stand in (the bench's counting server does).
SERVER_MODULE = "devtools.moto_ranges"


class MotoServer:
    """Context manager: `with MotoServer() as s3: s3.endpoint`. Nothing is left listening after exit."""

    def __init__(
        self,
        log: IO[bytes] | None = None,
        start_timeout_s: float = 30.0,
        module: str = SERVER_MODULE,
        pythonpath: tuple[str, ...] = (),
    ) -> None:
        self.log = log
        self.start_timeout_s = start_timeout_s
        self.module = module
        self.pythonpath = pythonpath  # where `module` lives, if not in this devtools
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def start(self) -> MotoServer:
        for _ in range(3):  # a free port can be taken between probing and binding: try another
            self.port = free_port()
            argv = [sys.executable, "-m", self.module, "-H", "127.0.0.1", "-p", str(self.port)]
            # The parent-death signal fires when the spawning *thread* ends: only guard from main.
            if threading.current_thread() is threading.main_thread():
                argv = guarded_argv(argv)
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self.log or subprocess.DEVNULL,
                stderr=subprocess.STDOUT if self.log else subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the emulator, which stops us by PID
                env={
                    **os.environ,
                    "MOTO_ALLOW_NONEXISTENT_REGION": "true",
                    "PYTHONPATH": os.pathsep.join(
                        filter(None, [_DEVTOOLS_PARENT, *self.pythonpath, os.environ.get("PYTHONPATH")])
                    ),
                },
            )
            if self._wait_up():
                return self
            self.stop()
        raise S3ServerError("moto_server did not start on 127.0.0.1 (is moto[server] installed?)")

    def _wait_up(self) -> bool:
        import time

        end = time.monotonic() + self.start_timeout_s
        while time.monotonic() < end:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if port_open(self.port):
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def client(self, service: str = "s3", region: str = "us-east-1") -> Any:
        """A boto3 client for this server with dummy credentials (never the user's real ones)."""
        make: Any = boto3.client  # typed per service when boto3 stubs are installed; `service` is any
        return make(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            config=BotoConfig(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        )

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
