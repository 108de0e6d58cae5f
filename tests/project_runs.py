"""Each baked project's own `make install`, `make lint` and `make test`, run in the background.

The projects of FULL_BAKES build their .venv at the same time (uv shares one download cache), then run
lint and tests. BAKE_MAKE_JOBS (default 1) bounds how many lint/test steps run at once: the
projects' end-to-end tests race real deadlines and should not fight over 2 cores.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STEPS = ("install", "lint", "test")
# The install step makes .venv-sam too, so each project's lint runs `sam validate --lint` and its
# tests `sam build` and `make simulate BUILD=1` (they skip without the SAM CLI; here they must not).
TARGETS = {"install": ["install", "sam-venv"], "lint": ["lint"], "test": ["test"]}
STEP_TIMEOUT = int(os.environ.get("BAKE_MAKE_TIMEOUT", "900"))
# How many lint/test steps run at once, counting the template's own heavy checks that run while the
# projects do (the fuzzer's cfn-lint/translate/import, pre-commit on a bake): they hold it too, so
# nothing else loads the machine while a project's end-to-end tests race their deadlines.
GATE = threading.Semaphore(int(os.environ.get("BAKE_MAKE_JOBS", "1")))
# Set when the slow tests begin (tests/conftest.py runs them after every other test). Lint and test
# steps wait for it and for every project's install: the installs and the template's quick tests
# load both cores, and a project's end-to-end tests race 100-200 ms deadlines (ci14: three of them
# timed out three times in a row while other projects were still installing).
QUIET = threading.Event()
# (what, started, ended) of every background step and gated check, for the session's summary.
TIMELINE: list[tuple[str, float, float]] = []
SESSION_START = time.monotonic()


@contextlib.contextmanager
def timed(what: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        TIMELINE.append((what, started, time.monotonic()))


@contextlib.contextmanager
def gated(what: str) -> Iterator[None]:
    """Hold GATE for a heavy step, timed from when it got the gate."""
    with GATE, timed(what):
        yield


def timeline() -> list[str]:
    """When each heavy step ran, in seconds from the session's start: where CI's time goes."""
    return [
        f"{start - SESSION_START:7.0f} s -> {end - SESSION_START:7.0f} s ({end - start:4.0f} s)  {what}"
        for what, start, end in sorted(TIMELINE, key=lambda row: row[1])
    ]


# What a full bake's `make test` runs when not its whole suite (make test's PYTEST_ARGS). The csv
# project runs everything. The jsonl and bytes projects run every unit, IaC and reliability test and
# the end-to-end tests whose subject is the mode (chains through the emulator under faults, the seeded
# soak, gzip, bad records, sam build of their runtime), not those of the simulate CLI, the emulator's
# Invoke API, the S3 server and status/resume/deploy through the APIs: that code (devtools, the
# handler's run bookkeeping) is the same in every mode and csv's suite runs it (ci16: ~4 of each
# project's ~6.5 minutes of end-to-end tests). Sales Bytes is baked for its name (another mode's
# word: the hook must keep its package) and for csv's `sam build` on this machine's runtime: its IaC
# suite and the build's end-to-end tests show both; its unit suite is Orders CSV's.
_MODE_INDEPENDENT_E2E = (
    "--ignore=tests/e2e/test_cli.py --ignore=tests/e2e/test_emulator.py --ignore=tests/e2e/test_s3_server.py"
    + "".join(
        f" --deselect=tests/reliability/test_through_emulator.py::{name}"
        for name in (
            "test_local_status_and_resume_after_a_depth_guard_trip",
            "test_deployed_status_and_resume_through_the_apis",
            "test_a_deploy_mid_run_leaves_the_run_on_its_version",
        )
    )
)
MAKE_TEST_ARGS: dict[str, str] = {
    "jsonl": _MODE_INDEPENDENT_E2E,
    "bytes": _MODE_INDEPENDENT_E2E,
    "sales-bytes": "tests/iac tests/e2e/test_build.py",
}


@dataclass
class ProjectRun:
    """One project's make steps, run in a background thread; results fill in as they finish."""

    root: Path
    test_args: str = ""  # make test's PYTEST_ARGS: which of the project's tests run (all by default)
    done: dict[str, threading.Event] = field(default_factory=lambda: {s: threading.Event() for s in STEPS})
    results: dict[str, tuple[int, str]] = field(default_factory=dict)

    def wait(self, step: str) -> tuple[int, str]:
        assert self.done[step].wait(STEP_TIMEOUT * len(STEPS) + 60), f"make {step} never finished"
        return self.results[step]


def _run_steps(run: ProjectRun, installs: list[threading.Event]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("MAKEFLAGS", None)
    env.pop("MAKELEVEL", None)
    env.pop("MFLAGS", None)
    failed = False
    for step in STEPS:
        if failed:
            run.results[step] = (-1, "skipped: an earlier step failed")
            run.done[step].set()
            continue
        try:
            extra = [f"PYTEST_ARGS={run.test_args}"] if step == "test" and run.test_args else []
            if step == "install":
                with timed(f"{run.root.name}: make install"):
                    proc = _make(run.root, step, env)
            else:
                QUIET.wait()
                for installed in installs:
                    installed.wait()
                with gated(f"{run.root.name}: make {step}"):
                    proc = _make(run.root, step, env, extra)
            run.results[step] = (proc.returncode, proc.stdout)
            failed = failed or (step == "install" and proc.returncode != 0)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else str(exc.stdout)
            run.results[step] = (-1, f"timed out after {STEP_TIMEOUT}s\n{out}")
        finally:
            run.done[step].set()


def _make(
    root: Path, target: str, env: dict[str, str], extra: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", *TARGETS[target], *(extra or [])],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="session")
def make_runs(baked: dict[str, Path]) -> Iterator[dict[str, ProjectRun]]:
    runs = {mode: ProjectRun(root, MAKE_TEST_ARGS.get(mode, "")) for mode, root in baked.items()}
    installs = [r.done["install"] for r in runs.values()]
    threads = [threading.Thread(target=_run_steps, args=(r, installs), daemon=True) for r in runs.values()]
    for thread in threads:
        thread.start()
    yield runs
    for thread in threads:
        thread.join(timeout=1)
