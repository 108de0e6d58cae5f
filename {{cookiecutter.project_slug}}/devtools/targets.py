"""Where a run lives: a deployed stack's bucket (with the caller's AWS credentials) or the state
`make simulate` kept, served again by a local S3. `make status` and `make resume` both start here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import project
from .local_state import LocalState


@dataclass
class Target:
    """A bucket and the clients to reach it (AWS, or a moto server holding the local state)."""

    bucket: str
    s3: Any
    lambda_client: Any = None
    function: str | None = None
    local: LocalState | None = None  # when the run lives in the emulator's kept state


def stack_outputs(stack: str, region: str | None = None) -> dict[str, str]:
    import boto3

    cfn = boto3.client("cloudformation", region_name=region or os.environ.get("AWS_REGION") or project.REGION)
    stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


@contextmanager
def target_for(
    run_id: str, bucket: str | None, stack: str | None, state_dir: Path, function: str | None = None
) -> Iterator[Target]:
    """The place that holds `run_id`: a deployed bucket, or the local emulator state (started here)."""
    bucket = bucket or os.environ.get("BUCKET") or None
    stack = stack or os.environ.get("STACK") or None
    if bucket or stack:
        import boto3

        region = os.environ.get("AWS_REGION") or project.REGION
        if stack:
            outputs = stack_outputs(stack, region)
            bucket = bucket or outputs["BucketName"]
            # the live alias: the newest version, with its retries and on-failure queue
            function = function or outputs.get("LiveAliasArn") or outputs.get("FunctionArn")
        yield Target(
            str(bucket),
            boto3.client("s3", region_name=region),
            boto3.client("lambda", region_name=region),
            function or os.environ.get("FUNCTION"),
        )
        return
    local = LocalState.find(state_dir, run_id)
    if local is None:
        raise LookupError(
            f"run {run_id} is not in the local emulator state ({state_dir}); for a deployed stack "
            "pass BUCKET=<bucket> or STACK=<stack name>"
        )
    with local.serve() as s3:
        yield Target(local.bucket, s3, local=local)
