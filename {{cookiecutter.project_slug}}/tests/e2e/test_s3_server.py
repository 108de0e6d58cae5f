"""The emulator's S3 over real HTTP: ranges (streamed by devtools.moto_ranges) are answered byte
for byte, conditional ranged GETs keep their answers, and readers that hang up early do no harm."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError

from devtools.s3_server import MotoServer

pytestmark = pytest.mark.e2e

BUCKET = "ranges-over-http"


def test_ranges_over_http(s3_server: MotoServer) -> None:
    s3 = s3_server.client()
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(3)
    data = rng.randbytes(3_000_000)
    etag = s3.put_object(Bucket=BUCKET, Key="obj", Body=data)["ETag"]
    for _ in range(40):
        begin = rng.randrange(len(data))
        end = rng.choice([begin, begin + rng.randrange(2_000_000), len(data) - 1, len(data) + 5])
        resp = s3.get_object(Bucket=BUCKET, Key="obj", Range=f"bytes={begin}-{end}", IfMatch=etag)
        last = min(end, len(data) - 1)
        assert resp["Body"].read() == data[begin : last + 1]
        assert resp["ContentRange"] == f"bytes {begin}-{last}/{len(data)}"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=BUCKET, Key="obj", Range="bytes=0-9", IfMatch='"0"')
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=BUCKET, Key="obj", Range=f"bytes={len(data)}-")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_readers_that_stop_early_leave_the_server_serving(s3_server: MotoServer) -> None:
    """The handler opens `bytes=N-` and closes the stream when its hop ends."""
    s3 = s3_server.client()
    s3.create_bucket(Bucket=BUCKET + "-early")
    data = random.Random(4).randbytes(20_000_000)
    s3.put_object(Bucket=BUCKET + "-early", Key="obj", Body=data)
    for start in range(0, 20_000_000, 1_000_000):
        body = s3.get_object(Bucket=BUCKET + "-early", Key="obj", Range=f"bytes={start}-")["Body"]
        assert body.read(1000) == data[start : start + 1000]
        body.close()
    assert s3.get_object(Bucket=BUCKET + "-early", Key="obj")["Body"].read() == data
