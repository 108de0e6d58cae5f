"""The S3 side the commands share: the JSON documents a run keeps (manifest, outcome) and the
notification S3 sends Lambda for an upload."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any
from urllib.parse import quote_plus


def make_bucket(s3: Any, bucket: str, region: str) -> None:
    """Create `bucket` in `region` (S3 refuses a LocationConstraint of us-east-1)."""
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def get_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
    return doc


def s3_event(bucket: str, key: str, etag: str, size: int, region: str) -> dict[str, Any]:
    """The ObjectCreated:Put notification S3 would send (the key URL-encoded, as S3 does)."""
    now = dt.datetime.now(dt.UTC)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:SIMULATE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": "sim"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "simulate",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "SIMULATE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag.strip('"'),
                        "sequencer": f"{time.time_ns():016X}",
                    },
                },
            }
        ]
    }
