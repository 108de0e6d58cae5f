"""Reliability through the local Lambda emulator (real worker processes, deadlines, faults): a small
soak, the object-change policies via simulate, and status/resume of a failed run, both the local
(kept state) path and the deployed-stack path (BUCKET + the Invoke API, here served locally)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devtools import project, simulate
from devtools.emulator import Emulator
from devtools.faults import Faults
from devtools.s3_docs import s3_event
from devtools.s3_server import DUMMY_CREDENTIALS, MotoServer
from devtools.soak import CHAIN_ENV, FAILING, ChainSpec, generate, run_chain, single_pass, totals

pytestmark = pytest.mark.e2e
PROJECT_DIR = Path(__file__).resolve().parents[2]
MODE = project.MODE


@pytest.fixture(scope="module")
def server() -> Any:
    with MotoServer() as srv:
        yield srv


TIMEOUT_MS = "200"
# The framework's own process.py: these tests check the framework whatever the user's does.
PASSTHROUGH = "devtools.passthrough.lambda_handler"


def chain_input() -> bytes:
    """Big enough that a 100 ms timeout cuts it into several hops on a fast machine; the tests
    check that the hops they need did happen."""
{%- if cookiecutter.processing_mode == "bytes" %}
    return generate(MODE, 40_000, "A", seed=11).data  # raw records are read much faster
{%- else %}
    return generate(MODE, 150_000, "A", seed=11).data
{%- endif %}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_DIR / "src"), str(PROJECT_DIR)])}


def _cli(module: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", module, *args]
    return subprocess.run(argv, cwd=PROJECT_DIR, env=_env(), capture_output=True, text=True, timeout=timeout)


def _sim_args(tmp_path: Path, data: bytes, *extra: str) -> list[str]:
    src = tmp_path / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(data)
    env_args = [a for k, v in CHAIN_ENV.items() for a in ("--env", f"{k}={v}")]
    return [
        "--input", str(src), "--output", str(tmp_path / "out"), "--summary", str(tmp_path / "summary.json"),
        "--log", str(tmp_path / "sim.log"), "--no-progress", "--handler", PASSTHROUGH, *env_args, *extra,
    ]  # fmt: skip


def test_small_soak(server: MotoServer, tmp_path: Path) -> None:
    """A few chains of every fault kind, judged independently of the handler (ids and versions)."""
{%- if cookiecutter.processing_mode == "bytes" %}
    n = 200  # raw records cost more here (see devtools.soak.RECORD_US)
{%- else %}
    n = 600
{%- endif %}
    specs = [
        ChainSpec(0, 101, n, 250, Faults(kill=0.3, duplicate=0.5, recycle=0.5, retries=6), "fail"),
        ChainSpec(1, 102, n, 250, Faults(duplicate=0.3, recycle=0.3, overwrite=2, retries=4), "restart"),
        ChainSpec(2, 103, n, 250, Faults(kill=0.2, overwrite=1, retries=4), "fail"),
    ]
    with (tmp_path / "soak.log").open("ab") as log:
        results = [run_chain(spec, server, log=log) for spec in specs]
    row = totals(results)
    assert {c: row[c] for c in FAILING} == dict.fromkeys(FAILING, 0), [r.notes for r in results]
    assert row["hops"] >= 6, "the chains that succeed must take several hops"
    assert row["kills"] + row["duplicates"] + row["recycles"] > 0
    assert [r.status for r in results] == ["succeeded", "succeeded", "failed-as-expected"]
    assert results[1].version == "B", "restart: the committed output is the new version's"


def test_simulate_overwrite_fails_nonzero_naming_the_change(tmp_path: Path) -> None:
    """`make simulate ... FAULTS=overwrite:2` under the policy fail (whatever the project's default)."""
    data = chain_input() * 4  # enough for hop 2 to come at 200 ms on a fast machine
    args = _sim_args(
        tmp_path, data, "--timeout-ms", TIMEOUT_MS, "--faults", "overwrite:2", "--env", "ON_OBJECT_CHANGE=fail"
    )
    done = _cli("devtools.simulate", *args)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["overwrites"] == 1 and summary["status"] == "failed"
    old, new = hashlib.md5(data).hexdigest(), hashlib.md5(simulate.changed_copy(data)).hexdigest()
    error = summary["error"]
    assert error.startswith("ObjectChangedError: run ") and "changed during the run" in error
    assert f'pinned to ETag "{old}" but the object now has ETag "{new}"' in error
    assert (tmp_path / "out").read_bytes() == b""
    assert "changed during the run" in done.stdout


def test_simulate_overwrite_with_restart_policy(server: MotoServer, tmp_path: Path) -> None:
    data = chain_input()
    src = tmp_path / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(data)
    opts = simulate.Options(
        input=src,
        timeout_ms=int(TIMEOUT_MS),
        faults=Faults.parse("overwrite:2,kill:0.1,duplicate:0.2,retries:6"),
        seed=5,
        output=tmp_path / "out",
        log=tmp_path / "sim.log",
        env={**CHAIN_ENV, "ON_OBJECT_CHANGE": "restart"},
        max_wall_s=180,
        progress=False,
        project_dir=PROJECT_DIR,
        handler=PASSTHROUGH,
    )
    summary = simulate.run(opts, server=server)
    assert summary["overwrites"] == 1
    assert summary["status"] == "succeeded", summary.get("error")
    assert len(summary["runs"]) == 2, "the abandoned run and the one on the new version"
    expected, _, _ = single_pass(MODE, simulate.changed_copy(data), CHAIN_ENV)
    assert (tmp_path / "out").read_bytes() == expected


def test_local_status_and_resume_after_a_depth_guard_trip(tmp_path: Path) -> None:
{%- if cookiecutter.processing_mode == "bytes" %}
    data = chain_input()  # 10 MB of raw chunks: more than hop 0 can finish at 200 ms, so MAX_HOPS=1 trips
{%- else %}
    data = chain_input() * 4  # more than hop 0 can finish at 200 ms, so MAX_HOPS=1 trips
{%- endif %}
    state = tmp_path / "state"
    args = _sim_args(tmp_path, data, "--timeout-ms", TIMEOUT_MS, "--env", "MAX_HOPS=1", "--keep-state", str(state))
    done = _cli("devtools.simulate", *args)
    assert done.returncode == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    run_id = summary["run_id"]
    assert run_id, f"hop 0 never committed: {summary['error']}"
    status = _cli("devtools.status", run_id, "--state-dir", str(state))
    assert status.returncode == 0, status.stderr
    assert f"run {run_id}: failed" in status.stdout
    assert "DepthExceededError: run" in status.stdout and "MAX_HOPS=1" in status.stdout
    assert "hop          1" in status.stdout
    doc = json.loads(_cli("devtools.status", run_id, "--state-dir", str(state), "--json").stdout)
    assert (doc["state"], doc["hop"], doc["size"]) == ("failed", 1, len(data))
    assert 0 <= doc["offset"] < len(data)  # a cold first hop at 100 ms may commit no records
    out = tmp_path / "resumed"
    resumed = _cli(
        "devtools.resume", run_id, "--state-dir", str(state), "--env", "MAX_HOPS=1000", "--timeout-ms", "5000",
        "--output", str(out),
        "--log", str(tmp_path / "resume.log"), "--handler", PASSTHROUGH,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"run {run_id}: succeeded" in resumed.stdout
    expected, _, _ = single_pass(MODE, data, CHAIN_ENV)
    assert out.read_bytes() == expected
    after = json.loads(_cli("devtools.status", run_id, "--state-dir", str(state), "--json").stdout)
    assert after["state"] == "succeeded" and after["hops"] > 1
    unknown = _cli("devtools.status", "0" * 24, "--state-dir", str(state))
    assert unknown.returncode == 1 and "is not in the local emulator state" in unknown.stderr


def test_deployed_status_and_resume_through_the_apis(server: MotoServer, tmp_path: Path) -> None:
    """The BUCKET/--function path of status and resume, against S3 and Lambda endpoints (here
    moto and the emulator's Invoke API, reached the way boto3 reaches AWS: endpoint variables)."""
    s3 = server.client(region=project.REGION)
    bucket = f"deployed-{time.time_ns()}"
    s3.create_bucket(Bucket=bucket)
    data = chain_input() * 4  # more than hop 0 can finish, so the depth guard (MAX_HOPS=1) trips
    key = f"{project.INPUT_PREFIX}deployed{project.INPUT_SUFFIX}"
    etag = s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"]
    common: dict[str, Any] = {
        "handler": PASSTHROUGH,
        "function_name": project.FUNCTION_NAME,
        "s3_endpoint": server.endpoint,
        # Not tiny: this test is about status and resume through the APIs, not about short hops
        # (at 100 ms a loaded machine can time out every attempt of hop 0 before it commits).
        "timeout_ms": 300,
        "region": project.REGION,
        "cwd": str(PROJECT_DIR),
        "log": (tmp_path / "emulator.log").open("ab"),
        "recursive_loop": project.FUNCTION.recursive_loop,
    }
    env = {**project.function_env(), **CHAIN_ENV}
    with Emulator(function_env={**env, "MAX_HOPS": "1"}, **common) as first:
        first.submit_async(s3_event(bucket, key, etag, len(data), project.REGION))
        assert first.run(120)
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{project.STATE_PREFIX}runs/", Delimiter="/")
    (run_id,) = [p["Prefix"].split("/")[-2] for p in listing["CommonPrefixes"]]
    cli_env = {
        **_env(), **DUMMY_CREDENTIALS, "AWS_REGION": project.REGION, "AWS_ENDPOINT_URL_S3": server.endpoint,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }  # fmt: skip
    status = subprocess.run(
        [sys.executable, "-m", "devtools.status", run_id, "--bucket", bucket],
        cwd=PROJECT_DIR, env=cli_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert status.returncode == 0 and f"run {run_id}: failed" in status.stdout, status.stdout + status.stderr
    # "Redeploy" with the cause fixed, then resume through the Invoke API and wait for the end.
    with Emulator(function_env=env, **common) as second:
        resume = subprocess.Popen(
            [sys.executable, "-m", "devtools.resume", run_id, "--bucket", bucket, "--function",
             project.FUNCTION_NAME, "--wait", "120"],
            cwd=PROJECT_DIR, env={**cli_env, "AWS_ENDPOINT_URL_LAMBDA": second.lambda_endpoint},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 150
        while resume.poll() is None and time.monotonic() < deadline:
            second.run(1)
        stdout, stderr = resume.communicate(timeout=30)
    assert resume.returncode == 0, stdout + stderr
    assert f"run {run_id}: succeeded" in stdout
    common["log"].close()


def test_a_deploy_mid_run_leaves_the_run_on_its_version(server: MotoServer, tmp_path: Path) -> None:
    """A deploy between two hops publishes a version whose code cannot even import: the run keeps
    its version 1 to the end with the output of one pass, and an upload after the deploy runs on
    version 2 (the alias moved), where it fails (FAULTS=deploy:H runs the same through simulate)."""
    broken = tmp_path / "v2-src"
    shutil.copytree(PROJECT_DIR / "src", broken, ignore=shutil.ignore_patterns("__pycache__"))
    handler_py = next(broken.glob("*/handler.py"))
    handler_py.write_text(handler_py.read_text() + '\nraise RuntimeError("version 2 must not run this run")\n')
    data = chain_input()
    s3 = server.client(region=project.REGION)
    bucket = "deploy-mid-run"
    s3.create_bucket(Bucket=bucket)
    key = f"{project.INPUT_PREFIX}first{project.INPUT_SUFFIX}"
    etag = s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"]
    published: list[str] = []
    emulator: Emulator | None = None
    once = threading.Lock()  # duplicate deliveries of hop 2 arrive at the same time

    def before_hop(hop: int) -> None:
        with once:
            if hop == 2 and not published and emulator is not None:
                published.append(emulator.publish_version(str(broken)))

    emulator = Emulator(
        handler=PASSTHROUGH,
        function_name=project.FUNCTION_NAME,
        function_env={**project.function_env(), **CHAIN_ENV},
        s3_endpoint=server.endpoint,
        timeout_ms=int(TIMEOUT_MS),
        faults=Faults.parse("duplicate:0.3,retries:2"),  # duplicates race the deploy; kills are tested elsewhere
        seed=9,
        region=project.REGION,
        cwd=str(PROJECT_DIR),
        log=(tmp_path / "emulator.log").open("wb"),
        before_hop=before_hop,
        recursive_loop=project.FUNCTION.recursive_loop,
    )
    with emulator:
        emulator.submit_async(s3_event(bucket, key, etag, len(data), project.REGION))
        assert emulator.run(180), "the run did not finish"
        rows = emulator.summary()["timeline"]
        hops = [(r["hop"], r["attempt"], r["outcome"], str(r["error"] or "")[:160]) for r in rows]
        assert published == ["2"], f"the deploy must happen mid-run (hop 2 was reached): {hops}"
        assert {r["version"] for r in rows} == {"1"}, "a hop of the run ran on version 2"
        runs = s3.list_objects_v2(Bucket=bucket, Prefix=f"{project.STATE_PREFIX}runs/", Delimiter="/")
        run_id = runs["CommonPrefixes"][0]["Prefix"].split("/")[-2]
        manifest_key = f"{project.OUTPUT_PREFIX}{run_id}/manifest.json"
        assert s3.list_objects_v2(Bucket=bucket, Prefix=manifest_key)["KeyCount"], f"the run failed: {hops}"
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
        assert manifest["code_version"] == "1"
        parts = b"".join(s3.get_object(Bucket=bucket, Key=part["key"])["Body"].read() for part in manifest["parts"])
        expected, _, _ = single_pass(MODE, data, CHAIN_ENV)
        assert parts == expected
        # a new upload goes through the alias, now on version 2
        later = f"{project.INPUT_PREFIX}second{project.INPUT_SUFFIX}"
        etag2 = s3.put_object(Bucket=bucket, Key=later, Body=b"x")["ETag"]
        emulator.submit_async(s3_event(bucket, later, etag2, 1, project.REGION))
        emulator.run(60)
        new_rows = emulator.summary()["timeline"][len(rows) :]
        assert new_rows and {r["version"] for r in new_rows} == {"2"}
        assert all(r["outcome"] != "ok" for r in new_rows)
