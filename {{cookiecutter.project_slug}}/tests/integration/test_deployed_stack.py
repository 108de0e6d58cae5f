"""Against a real deployed stack: upload the sample to the input prefix, wait for the run's manifest,
and check that its committed output and counts equal a local single run (`make simulate`).

Needs STACK_NAME (the deployed stack, e.g. after `make deploy`) and AWS credentials; skipped with
the reason otherwise. Region: AWS_REGION / AWS_DEFAULT_REGION, else samconfig.toml's.
INTEGRATION_TIMEOUT (seconds, default 900) bounds the wait. Run: make test-integration.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
PKG = "{{ cookiecutter.__package_name }}"


def _region() -> str:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    with (PROJECT / "samconfig.toml").open("rb") as fh:
        return str(tomllib.load(fh)["default"]["global"]["parameters"]["region"])


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    name = os.environ.get("STACK_NAME")
    if not name:
        pytest.skip("STACK_NAME is not set: deploy (make deploy) and export STACK_NAME=<stack> to run this")
    import boto3

    session = boto3.session.Session(region_name=_region())
    if session.get_credentials() is None:
        pytest.skip("no AWS credentials found (environment, profile or instance role)")
    cfn = session.client("cloudformation")
    described = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), described["StackStatus"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    env = session.client("lambda").get_function_configuration(FunctionName=outputs["FunctionName"])
    return {"session": session, "outputs": outputs, "env": env["Environment"]["Variables"]}


def _sample() -> Path:
    samples = sorted((PROJECT / "events").glob("sample.*"))
    assert samples, "events/sample.<ext> is missing"
    return samples[0]


def _local_single_run(sample: Path, tmp: Path) -> tuple[bytes, dict[str, Any]]:
    out, summary = tmp / "local-output", tmp / "local-summary.json"
    proc = subprocess.run(
        ["make", "--no-print-directory", "simulate", f"INPUT={sample}", f"OUTPUT={out}", f"SUMMARY={summary}"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out.read_bytes(), json.loads(summary.read_text())


def test_upload_runs_to_a_manifest_equal_to_a_local_run(stack: dict[str, Any], tmp_path: Path) -> None:
    config = pytest.importorskip(f"{PKG}.config")
    layout = pytest.importorskip(f"{PKG}.layout")
    run_report = pytest.importorskip("devtools.run_report")
    cfg = config.Config.from_env(stack["env"])
    s3 = stack["session"].client("s3")
    bucket, input_prefix = stack["outputs"]["UploadPrefix"].removeprefix("s3://").split("/", 1)
    assert input_prefix == cfg.input_prefix

    sample = _sample()
    key = f"{input_prefix}integration-{uuid.uuid4().hex[:12]}{cfg.input_suffix or sample.suffix}"
    assert key.startswith(cfg.input_prefix) and key.endswith(cfg.input_suffix)
    body = sample.read_bytes()
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    run_id = layout.run_id_for(bucket, key, put["ETag"], put.get("VersionId"))
    try:
        deadline = time.monotonic() + float(os.environ.get("INTEGRATION_TIMEOUT", "900"))
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = run_report.run_status(s3, bucket, run_id, cfg)
            if status["state"] not in ("unknown", "running"):
                break
            time.sleep(5)
        assert status.get("state") == "succeeded", f"run {run_id} did not succeed in time: {status}"
        assert status["status"] == "succeeded" and status["run_id"] == run_id
        assert status["source"]["bucket"] == bucket and status["source"]["key"] == key
        assert status["source"]["etag"].strip('"') == put["ETag"].strip('"')
        assert status["source"]["size"] == len(body)
        assert status["hops"] >= 1
        parts = status["parts"]
        assert sum(p["items"] for p in parts) == status["output_items"]
        for part in parts:
            assert part["key"].startswith(f"{cfg.output_prefix}{run_id}/parts/")
        remote_output = b"".join(run_report.committed_output(s3, bucket, run_id, cfg))
        assert len(remote_output) == sum(p["bytes"] for p in parts)

        local_output, local = _local_single_run(sample, tmp_path)
        assert local["status"] == "succeeded"
        assert remote_output == local_output
        assert status["records"] == local["records"]
        assert status["bad_records"] == local["bad_records"]
        assert status["result"] == local["result"]
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
