"""`python -m devtools.simulate` as `make simulate` runs it: exit codes, files, and that nothing is
left running or listening afterwards, whether the run succeeds, fails or is interrupted."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools import project
from devtools.proc import pid_alive, port_open

from .conftest import CHAIN_ENV, PROJECT_DIR, make_input, sized

pytestmark = pytest.mark.e2e


def _cli(tmp_path: Path, data: bytes, *args: str) -> tuple[list[str], Path]:
    src = tmp_path / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(data)
    env_args = [a for k, v in CHAIN_ENV.items() for a in ("--env", f"{k}={v}")]
    argv = [
        sys.executable, "-m", "devtools.simulate", "--input", str(src),
        "--output", str(tmp_path / "out"), "--summary", str(tmp_path / "summary.json"),
        "--log", str(tmp_path / "sim.log"), "--no-progress", "--handler", "devtools.passthrough.lambda_handler",
        *env_args, *args,
    ]  # fmt: skip
    return argv, tmp_path / "sim.log"


def _started(log: Path) -> tuple[list[int], list[int]]:
    """PIDs and ports the emulator reported starting (moto, the Invoke API, each sandbox)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    pids = [int(p) for p in re.findall(r"(?:moto_server pid|started, pid) (\d+)", text)]
    ports = [int(p) for p in re.findall(r"(?:port|api port) (\d+)", text)]
    return pids, ports


def _assert_nothing_left(log: Path) -> None:
    pids, ports = _started(log)
    assert pids and ports, "the log must name what was started"
    for pid in pids:
        assert not pid_alive(pid), f"pid {pid} still running"
    for port in ports:
        assert not port_open(port), f"127.0.0.1:{port} still listening"


SUMMARY_KEYS = (
    "status", "hops", "records", "bad_records", "bytes_fetched", "object_size", "kills", "duplicates", "retries",
    "timeouts", "ranges", "run_id", "result",
)  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_DIR / "src"), str(PROJECT_DIR)])}


def test_success_exits_zero_writes_files_and_cleans_up(tmp_path: Path, mode: str) -> None:
    state = tmp_path / "state"
    # retries:6 as in every test here whose subject is not the deadline: a hop that overruns 200 ms on a
    # loaded machine is retried rather than failing the run.
    argv, log = _cli(
        tmp_path,
        make_input(mode, 120_000, seed=3),
        *("--timeout-ms", "200", "--faults", "retries:6", "--keep-state", str(state)),
    )
    done = subprocess.run(argv, cwd=PROJECT_DIR, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "succeeded"
    assert set(SUMMARY_KEYS) <= set(summary), "the keys the README promises in SUMMARY"
    assert summary["ranges"] == 1, "one chain: this run was not fanned out"
    run_id = summary["run_id"]
    assert f"simulate: run {run_id} SUCCEEDED" in done.stdout
    assert f"make status RUN={run_id}\n" in done.stdout, "a successful run names what status needs, not resume"
    assert (tmp_path / "out").stat().st_size > 0
    assert "timeline:" in done.stdout and "bytes fetched" in done.stdout
    assert '"level"' not in done.stdout + done.stderr, "handler logs belong in the log file"
    _assert_nothing_left(log)


def test_failure_exits_nonzero_with_empty_output_and_cleans_up(tmp_path: Path, mode: str) -> None:
    # Big enough that hop 0 cannot finish it in 100 ms on a fast machine: hop 1 must happen.
    data = make_input(mode, sized(mode, 6_000_000), seed=4)
    # ci stop 22: hop 0 overran 100 ms three times in a row while the machine was loaded (retries:6).
    faults = "overwrite:1,retries:6"
    argv, log = _cli(tmp_path, data, "--timeout-ms", "100", "--faults", faults, "--env", "ON_OBJECT_CHANGE=fail")
    done = subprocess.run(argv, cwd=PROJECT_DIR, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"]
    assert set(SUMMARY_KEYS) <= set(summary)
    assert f"simulate: run {summary['run_id']} FAILED" in done.stdout
    assert (tmp_path / "out").read_bytes() == b""
    _assert_nothing_left(log)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_everything(tmp_path: Path, mode: str, sig: signal.Signals) -> None:
    argv, log = _cli(tmp_path, make_input(mode, sized(mode, 3_000_000), seed=5), "--timeout-ms", "3000")
    proc = subprocess.Popen(argv, cwd=PROJECT_DIR, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "START RequestId" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.05)  # wait until a hop is running in a sandbox
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out.decode(errors="replace")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed" and "interrupted" in summary["error"]
    assert (tmp_path / "out").read_bytes() == b""
    _assert_nothing_left(log)


def test_bad_fault_spec_is_a_usage_error(tmp_path: Path) -> None:
    argv, _ = _cli(tmp_path, b"x", "--faults", "explode:1")
    done = subprocess.run(argv, cwd=PROJECT_DIR, env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("ERROR:") and "explode" in done.stderr


def test_make_simulate_takes_stack_parameters_like_make_deploy(tmp_path: Path, mode: str) -> None:
    """`make simulate PARAMS=...` resolves template.yaml with the override, as a deploy would:
    MaxHops reaches the function as MAX_HOPS, so a multi-hop input trips the depth guard."""
    data = make_input(mode, sized(mode, 2_000_000), seed=6)  # several hops at 150 ms, even loaded
    src = tmp_path / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(data)
    env_args = " ".join(f"--env {k}={v}" for k, v in CHAIN_ENV.items())
    summary = tmp_path / "summary.json"
    make = [
        "make", "--no-print-directory", "simulate", f"INPUT={src}", "TIMEOUT_MS=150", "PARAMS=MaxHops=1",
        # 150 ms hops can overrun on a loaded machine (ci16: hop 0 timed out three times in a row while
        # the other projects' suites ran); retries keep this about MaxHops, not about the machine
        "FAULTS=retries:6",
        f"SUMMARY={summary}", f"OUTPUT={tmp_path / 'out'}", f"SIM_LOG={tmp_path / 'sim.log'}",
        f"SIM_ARGS=--no-progress --handler devtools.passthrough.lambda_handler {env_args}",
    ]  # fmt: skip
    done = subprocess.run(make, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode != 0, done.stdout + done.stderr
    result = json.loads(summary.read_text())
    assert result["status"] == "failed"
    assert "DepthExceededError" in result["error"] and "MAX_HOPS=1" in result["error"], result["error"]
    bad = subprocess.run(
        [*make[:5], "PARAMS=MaxHops=0", *make[6:]], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0
    assert "ERROR: MaxHops=0 must be between 1" in bad.stderr


def test_make_simulate_takes_the_timeout_and_concurrency_from_the_template(tmp_path: Path, mode: str) -> None:
    """Without TIMEOUT_MS the function's Timeout applies; ReservedConcurrency caps the sandboxes."""
    src = tmp_path / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(make_input(mode, 20_000, seed=8))
    summary = tmp_path / "summary.json"
    make = [
        "make", "--no-print-directory", "simulate", f"INPUT={src}", "PARAMS=Timeout=7 ReservedConcurrency=1",
        f"SUMMARY={summary}", f"OUTPUT={tmp_path / 'out'}", f"SIM_LOG={tmp_path / 'sim.log'}",
        "SIM_ARGS=--no-progress --handler devtools.passthrough.lambda_handler",
    ]  # fmt: skip
    done = subprocess.run(make, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(summary.read_text())
    assert (result["status"], result["timeout_ms"], result["concurrency"]) == ("succeeded", 7000, 1)


def test_faults_deploy_publishes_a_version_mid_run_and_the_run_stays_on_its_own(tmp_path: Path, mode: str) -> None:
    data = make_input(mode, sized(mode, 2_000_000), seed=7)  # several hops at 150 ms
    # retries: a 150 ms hop may overrun on a loaded machine; this test is about versions, not deadlines
    argv, log = _cli(tmp_path, data, "--timeout-ms", "150", "--faults", "deploy:1,retries:6")
    done = subprocess.run(argv, cwd=PROJECT_DIR, env=_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "succeeded"
    assert summary["deploys"] == 1, "hop 1 never ran: the input is too small for the test"
    assert {row["version"] for row in summary["invocation_log"]} == {"1"}
    assert "published version 2; alias live -> 2" in log.read_text()


def test_an_upload_outside_the_trigger_filter_starts_no_run(tmp_path: Path, mode: str) -> None:
    prefix, suffix = project.INPUT_PREFIX, project.INPUT_SUFFIX  # never both empty: the bake refuses a loop
    key = f"outside-{prefix}input{suffix}" if prefix else f"input{suffix}.outside"
    argv, log = _cli(tmp_path, make_input(mode, 20_000, seed=9), "--key", key)
    done = subprocess.run(argv, cwd=PROJECT_DIR, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["invocations"] == 0 and summary["runs"] == []
    assert "outside the trigger's filter" in summary["error"] and repr(key) in summary["error"]
    assert (tmp_path / "out").read_bytes() == b""
    _assert_nothing_left(log)


def test_simulate_runs_what_template_yaml_says_after_an_edit(tmp_path: Path, mode: str) -> None:
    """template.yaml is the one source of the function's configuration: edit a parameter's default
    and an environment variable in a copy of the project, and the simulated function has both."""
    copy = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR, copy, ignore=shutil.ignore_patterns(".venv*", ".simulate", "build", ".*cache", "__pycache__")
    )
    template = (copy / "template.yaml").read_text(encoding="utf-8")
    timeout = re.search(r"\n  Timeout:\n    Type: Number\n    Default: (\d+)\n", template)
    service = re.search(r"\n          POWERTOOLS_SERVICE_NAME: (.+)\n", template)
    assert timeout and service, "the test must find what it edits"
    template = template.replace(
        timeout.group(0), timeout.group(0).replace(f"Default: {timeout.group(1)}", "Default: 7")
    )
    template = template.replace(service.group(0), "\n          POWERTOOLS_SERVICE_NAME: edited-in-template\n")
    (copy / "template.yaml").write_text(template, encoding="utf-8")
    src = tmp_path / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(make_input(mode, 20_000, seed=10))
    argv = [
        sys.executable, "-m", "devtools.simulate", "--input", str(src), "--summary", str(tmp_path / "summary.json"),
        "--log", str(tmp_path / "sim.log"), "--no-progress", "--handler", "devtools.passthrough.lambda_handler",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy / "src"), str(copy)])}
    done = subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "summary.json").read_text())["timeout_ms"] == 7000
    assert '"service":"edited-in-template"' in (tmp_path / "sim.log").read_text()
