"""`make bucket-setup BUCKET=<name>`: prepare a bucket the stack did not create.

A stack cannot change a bucket it does not own, so two settings are the user's to make once:
  - EventBridge notifications on (runs start from its "Object Created" events); S3 keeps one
    notification configuration per bucket, so this adds EventBridge to what is there and keeps
    the bucket's other topics, queues and functions;
  - a lifecycle rule that expires the state prefix (checkpoints, ledger pages, quarantine, staged
    parts of attempts that never committed) after DAYS days; the bucket's other rules are kept, and a rule
    of ours from an earlier call is replaced.

    python -m devtools.existing_bucket BUCKET [--days N] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import project

RULE_ID = f"{project.FUNCTION_NAME}-expire-state"


def with_eventbridge(current: dict[str, Any]) -> dict[str, Any]:
    """The notification configuration with EventBridge turned on, everything else as it was."""
    kept = {k: v for k, v in current.items() if k != "ResponseMetadata"}
    return {**kept, "EventBridgeConfiguration": {}}


def with_state_expiry(rules: list[dict[str, Any]], state_prefix: str, days: int) -> list[dict[str, Any]]:
    """The lifecycle rules with ours (expire `state_prefix` after `days`) in place of any older copy."""
    ours = {
        "ID": RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": state_prefix},
        "Expiration": {"Days": days},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
    }
    return [rule for rule in rules if rule.get("ID") != RULE_ID] + [ours]


def current_rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        rules: list[dict[str, Any]] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
        return []
    return rules


def setup(s3: Any, bucket: str, days: int, dry_run: bool = False) -> dict[str, Any]:
    notification = with_eventbridge(s3.get_bucket_notification_configuration(Bucket=bucket))
    rules = with_state_expiry(current_rules(s3, bucket), project.STATE_PREFIX, days)
    if not dry_run:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notification)
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    return {"NotificationConfiguration": notification, "LifecycleRules": rules}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.existing_bucket", description=__doc__)
    parser.add_argument("bucket")
    parser.add_argument("--days", type=int, default=project.STATE_RETENTION_DAYS)
    parser.add_argument("--dry-run", action="store_true", help="print what would be set, change nothing")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    import boto3

    done = setup(boto3.client("s3", region_name=project.REGION), args.bucket, args.days, args.dry_run)
    print(json.dumps(done, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
