"""`make bucket-setup`: turns EventBridge on and adds the state expiry rule to a bucket the stack
does not own, keeping the bucket's other notification targets and lifecycle rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools import existing_bucket, project


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="their-data")
        yield client


def _stored_eventbridge(bucket: str) -> Any:
    """moto keeps EventBridgeConfiguration but leaves it out of GetBucketNotificationConfiguration."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket].notification_configuration.event_bridge


def _queue_arn() -> str:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="theirs")["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def test_adds_eventbridge_and_expiry_and_keeps_the_rest(s3: Any) -> None:
    queue = _queue_arn()
    s3.put_bucket_notification_configuration(
        Bucket="their-data",
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectRemoved:*"]}]},
    )
    theirs = {"ID": "archive-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 90}}
    s3.put_bucket_lifecycle_configuration(Bucket="their-data", LifecycleConfiguration={"Rules": [theirs]})

    existing_bucket.setup(s3, "their-data", days=3)
    existing_bucket.setup(s3, "their-data", days=5)  # again: our rule is replaced, not added twice

    notification = s3.get_bucket_notification_configuration(Bucket="their-data")
    assert _stored_eventbridge("their-data") == {}
    assert [q["QueueArn"] for q in notification["QueueConfigurations"]] == [queue]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket="their-data")["Rules"]}
    assert set(rules) == {"archive-logs", existing_bucket.RULE_ID}
    assert rules[existing_bucket.RULE_ID]["Filter"] == {"Prefix": project.STATE_PREFIX}
    assert rules[existing_bucket.RULE_ID]["Expiration"] == {"Days": 5}


def test_dry_run_changes_nothing(s3: Any) -> None:
    planned = existing_bucket.setup(s3, "their-data", days=2, dry_run=True)
    assert planned["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    assert s3.get_bucket_notification_configuration(Bucket="their-data").get("QueueConfigurations") is None
    with pytest.raises(s3.exceptions.ClientError):  # nothing was put: no configuration at all
        s3.get_bucket_lifecycle_configuration(Bucket="their-data")
    assert existing_bucket.current_rules(s3, "their-data") == []
