"""Version pinning: a run runs on the function version that started it, whatever is deployed meanwhile."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import pytest

from {{ cookiecutter.__package_name }}.records import MODE
from {{ cookiecutter.__package_name }}.runs import resume_event
from {{ cookiecutter.__package_name }}.versions import (
    VersionMismatchError,
    check_version,
    function_arn_to_invoke,
    pin,
)

from .harness import BUCKET, aws, make_config, sample_body

ARN = "arn:aws:lambda:us-east-1:123456789012:function:stack-processor"


@pytest.mark.parametrize("invoked", [ARN, f"{ARN}:live", f"{ARN}:7", f"{ARN}:$LATEST"])
def test_continuations_invoke_the_pinned_version(invoked: str) -> None:
    with mock.patch.dict(os.environ, {"AWS_LAMBDA_FUNCTION_VERSION": "7"}):
        os.environ.pop("SELF_FUNCTION_ARN", None)
        assert pin() == "7"
        assert function_arn_to_invoke(invoked, "7") == f"{ARN}:7"
        assert function_arn_to_invoke(invoked, "") == invoked  # unpublished code: as invoked


def test_unpublished_code_pins_nothing() -> None:
    with mock.patch.dict(os.environ, {"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST"}):
        assert pin() == ""
        check_version("r", 3, "")  # an unpinned run runs anywhere


def test_a_hop_on_another_version_refuses() -> None:
    with (
        mock.patch.dict(os.environ, {"AWS_LAMBDA_FUNCTION_VERSION": "8"}),
        pytest.raises(VersionMismatchError, match=r"pinned to version 7 .* invoked on version 8"),
    ):
        check_version("run1", 3, "7")


def test_a_chain_stays_on_its_version_and_refuses_another(tmp_path: Path) -> None:
    body = sample_body(MODE, 400)
    cfg = make_config(str(tmp_path / "cache"), max_batch_records=16, first_batch_records=8, bytes_chunk_size=64)
    with aws(cfg) as h:
        event = h.put_input(body)
        with mock.patch.dict(os.environ, {"AWS_LAMBDA_FUNCTION_VERSION": "7"}):
            first = h.invoke(event, calls=6)["runs"][0]
            assert first["status"] == "continued"
            assert [c["FunctionName"].rsplit(":", 1)[1] for c in h.lam.calls] == ["7"]
            continuation = h.lam.payloads[-1]
            cp_key = continuation["key"]
            assert json.loads(h.s3.get_object(Bucket=BUCKET, Key=cp_key)["Body"].read())["code_version"] == "7"
        before = h.list_keys()
        with mock.patch.dict(os.environ, {"AWS_LAMBDA_FUNCTION_VERSION": "8"}):
            with pytest.raises(VersionMismatchError):
                h.invoke(continuation)
            assert h.list_keys() == before, "a refused hop must write nothing"
            # `make resume` is the deliberate change of code: it re-pins the run to this version
            h.invoke(resume_event(BUCKET, first["run_id"]), calls=6)
            assert h.lam.calls[-1]["FunctionName"].endswith(":8")
