"""Fixtures for the offline IaC tests: template.yaml parsed, translated to CloudFormation by the SAM
translator (no AWS call), and deployed into moto's CloudFormation in-process.

moto 5.2 has no CloudFormation model for three resource types the stack uses; `deployed` strips
exactly those from its copy (MOTO_UNSUPPORTED) and the tests assert them on the translated JSON.
It also ignores some properties of the types it does create (Lambda: Architectures,
EphemeralStorage, LoggingConfig, RecursiveLoop; S3: everything but BucketEncryption and Tags,
so the public access block, lifecycle, versioning and notification); those too are asserted on
the translated JSON, the rest on what moto made.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATE = PROJECT / "template.yaml"

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "iac-test"
ARTIFACT_BUCKET = "sam-artifacts-iac-test"
ARTIFACT_KEY = "processor.zip"

# Resource types moto 5.2.5's CloudFormation cannot create (it would skip them with a warning);
# moto_copy points references to the alias at the function itself.
MOTO_UNSUPPORTED = frozenset(
    {"AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm", "AWS::Lambda::EventInvokeConfig", "AWS::Lambda::Alias"}
)


class _NoAwsManagedPolicies:
    """The translator asks for AWS managed policy ARNs only when a function names one; ours
    uses its own role, so an empty map keeps translation offline."""

    def load(self) -> dict[str, str]:
        return {}


def load_sam_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    parsed: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    return parsed


def translate(
    sam: dict[str, Any],
    code_uri: str = f"s3://{ARTIFACT_BUCKET}/{ARTIFACT_KEY}",
    parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """SAM -> CloudFormation, as `sam deploy` has it done, with CodeUri as `sam package` leaves it.

    CloudFormation runs the transform with the stack's parameter values, and the transform writes
    some of them into what it makes (AsyncRetries into the EventInvokeConfig): pass them here too.
    """
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(sam)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    # The translator reads the region from a boto3 session; it makes no call.
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    try:
        values = {"AWS::Region": REGION, "AWS::Partition": "aws", **(parameters or {})}
        out: dict[str, Any] = transform(sam, values, _NoAwsManagedPolicies())
    finally:
        if saved is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved
    return out


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="session")
def translated(sam_template: dict[str, Any]) -> dict[str, Any]:
    return translate(sam_template)


def resources_of(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == rtype}


def one_resource(template: dict[str, Any], rtype: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, rtype)
    assert len(found) == 1, f"expected one {rtype}, found {sorted(found)}"
    return next(iter(found.items()))


def _code_zip() -> bytes:
    """The deployed package, zipped as sam build would (moto stores it; it never runs it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted((PROJECT / "src").rglob("*.py")):
            zf.write(path, path.relative_to(PROJECT / "src").as_posix())
    return buf.getvalue()


def _alias_as_function(node: Any, aliases: set[str]) -> Any:
    """Refs to an alias (which moto cannot create) as the function's ARN."""
    if isinstance(node, list):
        return [_alias_as_function(v, aliases) for v in node]
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in aliases:
            return {"Fn::GetAtt": ["Processor", "Arn"]}
        return {k: _alias_as_function(v, aliases) for k, v in node.items()}
    return node


def moto_copy(translated: dict[str, Any]) -> dict[str, Any]:
    """The translated template without the resource types moto cannot create (a reference to an
    alias becomes the function's ARN; the alias itself is checked on the translated template)."""
    aliases = {n for n, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::Alias"}
    tpl = _alias_as_function(copy.deepcopy(translated), aliases)
    stripped = {n for n, r in tpl["Resources"].items() if r["Type"] in MOTO_UNSUPPORTED}
    for name in stripped:
        del tpl["Resources"][name]
    for resource in tpl["Resources"].values():
        resource["DependsOn"] = [d for d in _as_list(resource.get("DependsOn", [])) if d not in stripped]
        if not resource["DependsOn"]:
            del resource["DependsOn"]
    text = json.dumps(tpl)
    for name in stripped:
        assert f'"{name}"' not in text, f"{name} is stripped for moto but still referenced"
    return tpl


@dataclass
class Deployed:
    template: dict[str, Any]  # what was sent to moto's CloudFormation
    parameters: dict[str, str]  # the parameter values given to create_stack
    stack: dict[str, Any]
    outputs: dict[str, str]
    resources: dict[str, dict[str, Any]]  # logical id -> stack resource summary
    session: Any  # boto3 session bound to the moto backend

    def client(self, name: str) -> Any:
        return self.session.client(name, region_name=REGION)

    def physical_id(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["PhysicalResourceId"])


ALARM_EMAIL = "alarms@example.com"


def stack_parameters(template: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """What a deploy passes: an alarm address, a bucket the user owns (if the stack needs one), overrides."""
    from devtools import stack_template

    names = template.get("Parameters", {})
    given = {"AlarmEmail": ALARM_EMAIL} if "AlarmEmail" in names else {}
    given.update(stack_template.samconfig(PROJECT)[2])  # as `sam deploy` adds samconfig.toml's
    if "ExistingBucketName" in names:
        given["ExistingBucketName"] = names["ExistingBucketName"].get("Default") or "existing-data-bucket"
    return {**given, **overrides}


@contextmanager
def deploy(
    translated: dict[str, Any], overrides: Mapping[str, str] | None = None, stack_name: str = STACK
) -> Iterator[Deployed]:
    """The translated template deployed into moto's CloudFormation with these parameter overrides.

    Stacks deployed while another is (nested moto mocks share one backend) need their own name."""
    import boto3
    from moto import mock_aws

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_ACCOUNT_ID": ACCOUNT,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with mock_aws():
            session = boto3.session.Session(region_name=REGION)
            s3 = session.client("s3")
            s3.create_bucket(Bucket=ARTIFACT_BUCKET)
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=ARTIFACT_KEY, Body=_code_zip())
            template = moto_copy(translated)
            params = stack_parameters(template, overrides or {})
            if "ExistingBucketName" in params and stack_name == STACK:
                s3.create_bucket(Bucket=params["ExistingBucketName"])  # the user's own bucket
            cfn = session.client("cloudformation")
            cfn.create_stack(
                StackName=stack_name,
                TemplateBody=json.dumps(template),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
                Capabilities=["CAPABILITY_IAM"],
            )
            stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
            summaries = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
            yield Deployed(
                template=template,
                parameters=params,
                stack=stack,
                outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
                resources={s["LogicalResourceId"]: s for s in summaries},
                session=session,
            )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# Module scope, not session: its mock_aws must end before other test folders start theirs (nested
# moto mocks share state until the outermost one ends, so a session-long one leaks S3 objects).
@pytest.fixture(scope="module")
def deployed(translated: dict[str, Any]) -> Iterator[Deployed]:
    with deploy(translated) as stack:
        yield stack


def emulated(parameters: Mapping[str, str]) -> Any:
    """The stack as the emulator and `make deploy` resolve template.yaml (devtools.stack_template)."""
    from devtools import stack_template

    return stack_template.load(PROJECT, [f"{k}={v}" for k, v in parameters.items()], complete=False)


def find_sam() -> str | None:
    """The SAM CLI of the project (.venv-sam, made by `make sam-venv`/`make deploy`) or on PATH."""
    local = PROJECT / ".venv-sam" / "bin" / "sam"
    if local.exists():
        return str(local)
    return shutil.which("sam")


def sam_toolchain(version: str) -> tuple[str, str]:
    """The SAM CLI and the Python of the function's runtime (X.Y), which sam build needs; the test
    skips, saying which is missing, without them."""
    from devtools import runtime

    sam = find_sam()
    if sam is None:
        pytest.skip("SAM CLI not installed: `make sam-venv` creates .venv-sam/bin/sam")
    python = runtime.find_python(f"python{version}")
    if python is None:
        pytest.skip(f"sam build needs python{version} (the function's runtime): e.g. `uv python install {version}`")
    return sam, python


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
