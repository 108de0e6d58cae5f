"""Shared pieces of the benchmark: the counting S3 server, test objects, the fake Lambda context.

Stdlib only at import time: the orchestrator imports this with the template's .venv (no boto3);
the measuring scripts run in the bench environment (boto3, moto, powertools, orjson).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
REGION = "us-east-1"
MB = 1_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CountingS3:
    """`python -m bench.moto_counting` on 127.0.0.1 in its own process, stopped by its PID.

    Duck-types what devtools.simulate.run(server=...) uses: endpoint, port, pid, client(), stop().
    """

    def __init__(self, project: Path, log: Path | None = None) -> None:
        self.project = project  # its devtools.moto_ranges streams ranged GETs as S3 does
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = log

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def start(self) -> CountingS3:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        for _ in range(3):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.moto_counting", str(self.port)],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={
                    **os.environ,
                    "MOTO_ALLOW_NONEXISTENT_REGION": "true",
                    "PYTHONPATH": f"{ROOT}{os.pathsep}{self.project}",
                },
            )
            end = time.monotonic() + 30
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("the counting moto server did not start")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> CountingS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def counters(self, reset: bool = False) -> dict[str, dict[str, int]]:
        url = f"{self.endpoint}/__bench__/counters"
        with urllib.request.urlopen(url) as resp:
            doc: dict[str, dict[str, int]] = json.loads(resp.read())
        if reset:
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE")).close()
        return doc

    def client(self, service: str = "s3", region: str = REGION) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        )


def upload(s3: Any, bucket: str, key: str, path: Path) -> str:
    """Multipart upload from a file (never the whole object in memory); returns the ETag."""
    from boto3.s3.transfer import TransferConfig

    s3.upload_file(
        str(path), bucket, key, Config=TransferConfig(multipart_chunksize=64 << 20, multipart_threshold=64 << 20)
    )
    return str(s3.head_object(Bucket=bucket, Key=key)["ETag"])


# -- test objects: deterministic, generated in blocks so 1 GB never sits in memory ----------------

_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo"]
_WORDS += ["lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "zulu"]
_CITIES = ["Lisbon", "Porto", "Zürich", "Kraków", "São Paulo", "Montréal", "Oslo", "Reykjavík"]
_LEVELS = ["debug", "info", "info", "info", "warn", "error"]


def _csv_rows(rng: random.Random, start: int, n: int) -> str:
    lines = []
    for i in range(start, start + n):
        w = rng.choice(_WORDS)
        city = rng.choice(_CITIES)
        note = f'"{w}, {rng.choice(_WORDS)} ""{city}"""' if i % 10 == 0 else f"{w} {rng.choice(_WORDS)}"
        lines.append(
            f"{i},{w}-{i % 977},{city},{rng.randint(0, 10**6) / 100:.2f},2024-{1 + i % 12:02d}-{1 + i % 28:02d},"
            f"{'true' if i % 3 else 'false'},{note},{rng.getrandbits(40):010x}\n"
        )
    return "".join(lines)


def _jsonl_rows(rng: random.Random, start: int, n: int) -> str:
    lines = []
    for i in range(start, start + n):
        doc = {
            "id": i,
            "ts": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z",
            "level": rng.choice(_LEVELS),
            "user": {"id": rng.randint(1, 10**6), "city": rng.choice(_CITIES)},
            "msg": " ".join(rng.choice(_WORDS) for _ in range(4)),
            "value": rng.randint(0, 10**6) / 100,
            "tags": [rng.choice(_WORDS), rng.choice(_WORDS)],
            "ok": i % 7 != 0,
        }
        lines.append(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(lines)


def _blocks(mode: str, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    if mode == "csv":
        yield b"id,name,city,amount,date,flag,note,code\n"
    i = 0
    while True:
        if mode == "csv":
            yield _csv_rows(rng, i, 4096).encode()
        elif mode == "jsonl":
            yield _jsonl_rows(rng, i, 4096).encode()
        else:
            yield rng.randbytes(1 << 20)
        i += 4096


def _cycled(blocks: Iterator[bytes], fresh_bytes: int) -> Iterator[bytes]:
    """The first `fresh_bytes` of blocks, then those same blocks again and again (big objects, quickly)."""
    seen: list[bytes] = []
    total = 0
    for block in blocks:
        yield block
        total += len(block)
        if seen or total > len(block):  # never repeat the CSV header block
            seen.append(block)
        if total >= fresh_bytes:
            break
    while True:
        yield from seen


def make_object(mode: str, size: int, path: Path, seed: int = 7, fresh_bytes: int = 32 * MB) -> int:
    """Write a `mode` object of about `size` bytes (whole records; exact for bytes); returns its size.

    Beyond `fresh_bytes` the records repeat (ids included): generating 1 GB of text in Python
    would take minutes, and repetition changes nothing for throughput or memory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("wb") as fh:
        for block in _cycled(_blocks(mode, seed), fresh_bytes):
            if written + len(block) > size:
                if mode == "bytes":
                    block = block[: size - written]
                else:
                    cut = block.rfind(b"\n", 0, size - written) + 1
                    block = block[:cut]
                fh.write(block)
                written += len(block)
                break
            fh.write(block)
            written += len(block)
    return written


# -- the Lambda side ---------------------------------------------------------------------------


class FakeContext:
    """What the handler uses of Lambda's context: a deadline, a request id and an ARN."""

    def __init__(self, timeout_ms: int, function_name: str = "bench") -> None:
        self._deadline = time.monotonic() + timeout_ms / 1000
        self.aws_request_id = f"bench-{time.monotonic_ns()}"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.function_name = function_name
        self.memory_limit_in_mb = "1024"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def s3_event(bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket},
                    "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"')},
                },
            }
        ]
    }


def lambda_env(project: Path, s3_endpoint: str, cache_dir: Path) -> dict[str, str]:
    """The function's environment as the emulator builds it (template.yaml's variables + runtime's)."""
    sys.path[:0] = [str(project)]
    from devtools import project as baked  # the generated project's own view of its configuration

    return {
        **baked.function_env(),
        **DUMMY_CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9",  # unused: one hop finishes the object
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": baked.FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "CACHE_DIR": str(cache_dir),
    }


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
