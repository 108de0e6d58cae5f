"""The emulator's S3 (devtools.moto_ranges) answers every GET exactly as plain moto does, and a
ranged GET never reads the whole object."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3 import models

from devtools import moto_ranges

BUCKET = "ranges-bucket"
SIZE = 300_000
DATA = random.Random(7).randbytes(SIZE)


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="obj", Body=DATA)
        yield client


def _answer(s3: Any, **kwargs: Any) -> tuple[Any, ...]:
    """Everything a handler could see of a GET: status, body, and the headers that describe it."""
    try:
        resp = s3.get_object(Bucket=BUCKET, Key="obj", **kwargs)
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"])
    meta = resp["ResponseMetadata"]
    return (
        meta["HTTPStatusCode"],
        resp["Body"].read(),
        resp.get("ContentRange"),
        resp["ContentLength"],
        resp["ETag"],
        resp.get("AcceptRanges"),
    )


def _both(s3: Any, **kwargs: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    plain = _answer(s3, **kwargs)
    with moto_ranges.installed():
        windowed = _answer(s3, **kwargs)
    return plain, windowed


offsets = st.one_of(st.integers(0, SIZE + 10), st.sampled_from([0, 1, SIZE - 1, SIZE, SIZE + 1]))
range_specs = st.one_of(
    st.tuples(offsets, offsets).map(lambda be: f"bytes={be[0]}-{be[1]}"),
    offsets.map(lambda b: f"bytes={b}-"),
    offsets.map(lambda n: f"bytes=-{n}"),
    st.sampled_from(["bytes=0-1,5-9", "bytes=x-y", "bytes=-", "bytes=10-2", "items=0-5"]),
)


@settings(max_examples=150, deadline=None)
@given(spec=range_specs)
def test_every_range_is_answered_as_plain_moto_answers_it(s3: Any, spec: str) -> None:
    plain, windowed = _both(s3, Range=spec)
    assert windowed == plain


def test_conditional_ranged_gets_keep_their_answers(s3: Any) -> None:
    etag = s3.head_object(Bucket=BUCKET, Key="obj")["ETag"]
    for cond in ({"IfMatch": etag}, {"IfMatch": '"0"'}, {"IfNoneMatch": etag}, {"IfNoneMatch": '"0"'}):
        plain, windowed = _both(s3, Range="bytes=100-199", **cond)
        assert windowed == plain, cond
    assert _both(s3, Range="bytes=100-199", IfMatch='"0"')[1][:2] == ("error", "PreconditionFailed")


class CountingBuffer:
    """moto's stored bytes of one object, counting what is read from them."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        out: bytes = self.buf.read(n)
        self.read_bytes += len(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.buf, name)


def test_a_ranged_get_reads_only_its_range(s3: Any) -> None:
    key = models.s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[BUCKET].keys["obj"]
    stored = key._value_buffer
    counting = key._value_buffer = CountingBuffer(stored)
    try:
        with moto_ranges.installed():
            assert s3.get_object(Bucket=BUCKET, Key="obj", Range="bytes=1000-1999")["Body"].read() == DATA[1000:2000]
            assert counting.read_bytes == 1000
            assert s3.get_object(Bucket=BUCKET, Key="obj")["Body"].read() == DATA  # no Range: moto's own read
            assert counting.read_bytes == 1000 + SIZE
    finally:
        key._value_buffer = stored


def test_a_streamed_range_reads_only_what_is_sent(s3: Any) -> None:
    """The server streams a range: a reader of `bytes=0-` that stops early costs what it read."""
    key = models.s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[BUCKET].keys["obj"]
    stored = key._value_buffer
    counting = key._value_buffer = CountingBuffer(stored)
    try:
        pieces = iter(moto_ranges.Stream(key, 10, SIZE))
        assert next(pieces) == DATA[10 : 10 + moto_ranges.Stream.PIECE]
        assert counting.read_bytes == moto_ranges.Stream.PIECE
        assert b"".join(pieces) == DATA[10 + moto_ranges.Stream.PIECE :]
        assert counting.read_bytes == SIZE - 10
    finally:
        key._value_buffer = stored
