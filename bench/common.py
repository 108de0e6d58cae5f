"""Shared pieces of the benchmark: the counting S3 server, test objects, the fake Lambda context.

Stdlib only at import time: the orchestrator imports this with the template's .venv (no boto3);
the measuring scripts run in the bench environment (boto3, moto, powertools, orjson).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
MB = 1_000_000


def counting_s3(project: Path, log: Path) -> Any:
    """The baked project's MotoServer (devtools.s3_server) running `bench.moto_counting`, which
    counts the bytes of every GET response per path; `counters()` reads them. Call it where the
    project's devtools is importable: in the measuring scripts, not the orchestrator."""
    sys.path[:0] = [str(project)]
    from devtools.s3_server import MotoServer

    class CountingS3(MotoServer):  # type: ignore[misc]
        def __init__(self) -> None:
            self.log_file = log.open("ab")
            super().__init__(log=self.log_file, module="bench.moto_counting", pythonpath=(str(ROOT), str(project)))

        def __exit__(self, *exc: object) -> None:
            super().__exit__(*exc)
            self.log_file.close()  # not in stop(): start() stops between port attempts

        def counters(self, reset: bool = False) -> dict[str, dict[str, int]]:
            url = f"{self.endpoint}/__bench__/counters"
            with urllib.request.urlopen(url) as resp:
                doc: dict[str, dict[str, int]] = json.loads(resp.read())
            if reset:
                urllib.request.urlopen(urllib.request.Request(url, method="DELETE")).close()
            return doc

    return CountingS3()


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


def gzip_file(path: Path, level: int = 6) -> Path:
    """`path` gzip-compressed beside it (streamed: 1 GB never sits in memory); the original goes."""
    import gzip
    import shutil

    out = path.with_name(path.name + ".gz")
    with path.open("rb") as src, gzip.open(out, "wb", compresslevel=level) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    path.unlink()
    return out


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


def lambda_env(project: Path, s3_endpoint: str, cache_dir: Path) -> dict[str, str]:
    """The function's environment as the emulator builds it (template.yaml's variables + runtime's)."""
    sys.path[:0] = [str(project)]
    from devtools import project as baked  # the generated project's own view of its configuration
    from devtools.s3_server import DUMMY_CREDENTIALS

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


def without_runs(result: dict[str, Any]) -> dict[str, Any]:
    """An overrun result with each hop length's per-chain list left out (printed, and in results.json)."""
    return {k: v if not isinstance(v, dict) else {a: b for a, b in v.items() if a != "runs"} for k, v in result.items()}
