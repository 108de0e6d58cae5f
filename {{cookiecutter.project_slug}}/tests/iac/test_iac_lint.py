"""template.yaml is clean for cfn-lint in both forms, and for `sam validate --lint` when SAM is here."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from .stack import PROJECT, REGION, TEMPLATE, find_sam


def _cfn_lint(text: str) -> list[str]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=[REGION]))
    return [f"{m.rule.id} {m.message} ({m.filename or 'template'}:{m.linenumber})" for m in matches]


def test_cfn_lint_sam_template() -> None:
    assert _cfn_lint(TEMPLATE.read_text()) == []


def test_cfn_lint_translated_template(translated: dict[str, Any]) -> None:
    assert "Transform" not in translated
    # The SAM transform writes some parameters' values into what it generates (AsyncRetries into
    # the EventInvokeConfig), so its output may leave a parameter unreferenced: W2001 is expected
    # there; the SAM template itself is linted with every rule above.
    problems = [p for p in _cfn_lint(json.dumps(translated, indent=1)) if not p.startswith("W2001 ")]
    assert problems == []


def test_sam_validate_lint() -> None:
    sam = find_sam()
    if sam is None:
        pytest.skip("SAM CLI not installed: `make sam-venv` (or make deploy) creates .venv-sam/bin/sam")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": REGION}
    proc = subprocess.run(
        [sam, "validate", "--lint", "--template", str(TEMPLATE), "--region", REGION],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is a valid SAM Template" in proc.stdout + proc.stderr
