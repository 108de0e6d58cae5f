"""boto3 clients and the few S3 error shapes the commit protocol depends on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

# Clients are passed around as Any: the stubs (dev-only) check the calls made right here, and the
# deployed package needs no typing dependency.
S3Client = Any
LambdaClient = Any

_MAX_ATTEMPTS = 8
T = TypeVar("T")
R = TypeVar("R")


@cache
def s3_client() -> S3Client:
    """One S3 client per container: creating clients costs more than most batches."""
    return boto3.client(
        "s3",
        config=BotoConfig(
            retries={"max_attempts": _MAX_ATTEMPTS, "mode": "adaptive"},
            # Only checksum when S3 requires it: whole-body checksums double the CPU of a commit.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=8,  # sink.PUBLISH_THREADS and ledger.PAGE_READ_THREADS copy and read 8 at a time
            tcp_keepalive=True,
        ),
    )


@cache
def lambda_client() -> LambdaClient:
    return boto3.client(
        "lambda",
        config=BotoConfig(
            retries={"max_attempts": _MAX_ATTEMPTS, "mode": "adaptive"}, connect_timeout=5, read_timeout=30
        ),
    )


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError ("304", "PreconditionFailed", "NoSuchKey", ...), else ""."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int:
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_precondition_failed(exc: BaseException) -> bool:
    return error_code(exc) in ("PreconditionFailed", "412") or http_status(exc) == 412


def put_if_absent(s3: S3Client, bucket: str, key: str, body: bytes, content_type: str) -> str | None:
    """Write `key` only if it does not exist (IfNoneMatch='*'): its ETag, or None when another
    writer got there first (412; 409 while a concurrent conditional write to it is in flight)."""
    try:
        resp = s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", ContentType=content_type)
    except Exception as exc:
        if is_precondition_failed(exc) or error_code(exc) == "ConditionalRequestConflict":
            return None
        raise
    etag: str = resp["ETag"]
    return etag


def is_not_modified(exc: BaseException) -> bool:
    return error_code(exc) == "304" or http_status(exc) == 304


def exists(s3: S3Client, bucket: str, key: str) -> bool:
    """Whether `key` exists, asked with a listing: S3 answers a GET of a missing key with 404 or
    403 depending on the caller's list permission, a listing always answers the same way (and
    is strongly consistent with writes)."""
    found = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return bool(found) and found[0]["Key"] == key  # the key itself sorts before longer ones


def is_missing(exc: BaseException) -> bool:
    return error_code(exc) in ("NoSuchKey", "404", "NotFound") or http_status(exc) == 404


def in_parallel(call: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """`call` on every item, up to `threads` at a time (S3 round trips overlap), results in order."""
    if len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items))) as pool:
        return list(pool.map(call, items))
