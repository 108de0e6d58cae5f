"""The slow part: each baked project's own `make install`, `make lint` and `make test`, as a user
would run them (tests/project_runs.py runs them in the background)."""

from __future__ import annotations

import pytest

from .conftest import FULL_BAKES, MACHINE_RUNTIME
from .project_runs import STEPS, ProjectRun


def _tail(output: str, lines: int = 80) -> str:
    return "\n".join(output.splitlines()[-lines:])


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(FULL_BAKES))
@pytest.mark.parametrize("step", STEPS)
def test_generated_make(make_runs: dict[str, ProjectRun], mode: str, step: str) -> None:
    code, output = make_runs[mode].wait(step)
    assert code == 0, f"make {step} in the {mode} project ({make_runs[mode].root.name}) exited {code}:\n{_tail(output)}"
    if step == "test":
        assert " passed" in output  # pytest ran tests rather than collecting none
        skipped = [line for line in output.splitlines() if line.startswith("SKIPPED")]
        # The install step made .venv-sam: sam validate, sam build and BUILD=1 must have run, on
        # every project whose runtime this machine's Python is (others need that Python too).
        assert not [line for line in skipped if "SAM CLI" in line], skipped
        if FULL_BAKES[mode].get("lambda_runtime") == MACHINE_RUNTIME:
            assert not [line for line in skipped if "sam build needs" in line], skipped
    if step == "lint":
        assert "is a valid SAM Template" in output  # sam validate --lint ran
