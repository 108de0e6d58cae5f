"""`make simulate BUILD=1`: the chain on what `make deploy` ships (the `sam build` output), in
sandboxes on the runtime's Python that can import only the package, its requirements and the SDK.

Needs the SAM CLI (`make sam-venv`) and the runtime's Python; skipped, saying which is missing,
without them (the template's CI installs both).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools import project
from tests.iac.stack import find_sam, sam_toolchain

from .conftest import CHAIN_ENV, PROJECT_DIR, make_input, sized

pytestmark = pytest.mark.e2e
TIMEOUT_MS = "200"  # short hops: the chain invokes itself from the built sandboxes too


def _simulate(tmp: Path, data: bytes, *make_args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    tmp.mkdir(parents=True, exist_ok=True)
    src = tmp / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(data)
    env_args = " ".join(f"--env {k}={v}" for k, v in CHAIN_ENV.items())
    sam = find_sam()
    # A SAM CLI found on PATH rather than in .venv-sam: use it, and do not make .venv-sam.
    own_sam = [] if sam == str(PROJECT_DIR / ".venv-sam" / "bin" / "sam") else [f"SAM={sam}", "SAM_STAMP="]
    command = [
        "make", "--no-print-directory", "simulate", f"INPUT={src}", f"OUTPUT={tmp / 'out'}",
        f"SUMMARY={tmp / 'summary.json'}", f"SIM_LOG={tmp / 'sim.log'}", f"TIMEOUT_MS={TIMEOUT_MS}",
        f"SIM_ARGS=--no-progress {env_args}", *own_sam, *make_args,
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "VIRTUAL_ENV")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = json.loads((tmp / "summary.json").read_text()) if (tmp / "summary.json").exists() else {}
    return done, summary


@pytest.fixture(scope="module")
def built_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path, dict[str, Any]]:
    """One `make simulate BUILD=1` run: its input, its folder and its summary."""
    sam_toolchain(project.FUNCTION.runtime.removeprefix("python"))
    data = make_input(project.MODE, sized(project.MODE, 1_000_000), seed=11)
    tmp = tmp_path_factory.mktemp("built")
    done, summary = _simulate(tmp, data, "BUILD=1")
    assert done.returncode == 0, done.stdout + done.stderr + (tmp / "sim.log").read_text(errors="replace")[-4000:]
    return data, tmp, summary


def test_the_build_runs_the_chain_as_src_does(built_run: tuple[bytes, Path, dict[str, Any]], tmp_path: Path) -> None:
    data, tmp, summary = built_run
    code = Path(summary["code"])
    assert code == PROJECT_DIR / ".aws-sam" / "simulate" / "build" / code.name
    assert (code / project.PACKAGE / "handler.py").is_file()
    assert not (code / "devtools").exists() and not (code / "moto").exists()
    assert summary["status"] == "succeeded" and summary["hops"] >= 2, summary
    from_src, src_summary = _simulate(tmp_path, data)
    assert from_src.returncode == 0, from_src.stdout + from_src.stderr
    assert src_summary["code"] == "src/"
    assert (tmp / "out").read_bytes() == (tmp_path / "out").read_bytes()
    assert (summary["records"], summary["bad_records"], summary["result"]) == (
        src_summary["records"],
        src_summary["bad_records"],
        src_summary["result"],
    )


def _dev_only_import(code: Path) -> None:
    with (code / project.PACKAGE / "process.py").open("a", encoding="utf-8") as fh:
        fh.write("\nimport moto  # a dev-only module: in .venv, not in requirements.txt\n")


def _missing_requirement(code: Path) -> None:
    shutil.rmtree(code / "aws_lambda_powertools")


@pytest.mark.parametrize(
    ("breakage", "error"),
    [(_dev_only_import, "No module named 'moto'"), (_missing_requirement, "No module named 'aws_lambda_powertools'")],
    ids=["dev-only-import", "missing-requirement"],
)
def test_what_the_build_lacks_fails_locally(
    built_run: tuple[bytes, Path, dict[str, Any]], tmp_path: Path, breakage: Any, error: str
) -> None:
    """What src/ in the project's virtualenv hides: the built sandbox cannot import it."""
    data, _, summary = built_run
    code = tmp_path / "code"
    shutil.copytree(summary["code"], code, symlinks=True)
    breakage(code)
    src = tmp_path / f"input{project.INPUT_SUFFIX}"
    src.write_bytes(data)
    command = [
        sys.executable, "-m", "devtools.simulate", "--input", str(src), "--code-dir", str(code),
        "--summary", str(tmp_path / "summary.json"), "--log", str(tmp_path / "sim.log"), "--no-progress",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    failed = json.loads((tmp_path / "summary.json").read_text())
    assert failed["status"] == "failed" and error in failed["error"], failed
