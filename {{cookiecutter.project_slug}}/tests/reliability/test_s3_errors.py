"""Throttled or failing S3: HTTP 500/503 answers and dropped connections injected below boto3
(botocore's `before-send`). Transient ones are absorbed by botocore's retries; persistent ones fail
the invocation without losing anything, and Lambda's retry (or a resume, once retries ran out)
completes the run. With moto a request answered 500/503 was still applied (see http_faults): the
hard case of a write whose success the handler never heard of."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.run_report import run_status

from {{ cookiecutter.__package_name }}.runs import resume_event

from .conftest import BUCKET, Chain, Harness, http_faults, sample
from .test_hop_faults import reference, same


def _first(status: int, match: str = "", n: int = 2) -> Any:
    """Fail the first `n` requests whose URL contains `match` (botocore retries each one)."""
    left = {"n": n}

    def pick(i: int, req: dict[str, Any]) -> int | None:
        if match in req["url"] and left["n"] > 0:
            left["n"] -= 1
            return status
        return None

    return pick


@pytest.mark.parametrize(
    ("operation", "status", "match"),
    [
        ("PutObject", 503, "/staging/"),
        ("CopyObject", 503, "/parts/"),
        ("PutObject", 500, "/checkpoints/"),
        ("GetObject", 503, ""),
        ("GetObject", 500, "/checkpoints/"),
        ("HeadObject", 500, ""),
    ],
)
def test_transient_errors_are_absorbed_by_botocore(h: Harness, operation: str, status: int, match: str) -> None:
    data = sample(20).data
    ref, _ = reference(h, data)
    with http_faults(h.s3, operation, _first(status, match)) as faults:
        chain = Chain(h).run(h.put_input(data, f"incoming/transient {operation} {status}"))
    assert operation == "HeadObject" or faults.injected > 0, "the fault must have fired"
    assert not any(d.errors for d in chain.deliveries), "botocore's retries must hide transient errors"
    same(h.outcome(chain.run_id()), ref)


def test_persistent_errors_fail_the_invocation_and_lambda_retries_complete_it(h: Harness) -> None:
    """Every checkpoint commit fails for a while (longer than botocore retries): the invocation
    fails, Lambda retries the event, the outage ends, and the run completes exactly."""
    data = sample(20).data
    ref, _ = reference(h, data)
    outage = {"left": 12}  # more than one invocation's worth of botocore attempts

    def pick(n: int, req: dict[str, Any]) -> int | str | None:
        if "/checkpoints/000002" in req["url"] and outage["left"] > 0:
            outage["left"] -= 1
            return "drop" if outage["left"] % 2 else 503
        return None

    with http_faults(h.s3, "PutObject", pick) as faults:
        chain = Chain(h, retries=2).run(h.put_input(data, "incoming/outage"))
    assert faults.injected > 8, "more than one invocation's worth of botocore attempts failed"
    assert any(d.errors for d in chain.deliveries), "at least one invocation must have failed"
    assert not chain.failed
    same(h.outcome(chain.run_id()), ref)


def test_retries_exhausted_then_resume(h: Harness) -> None:
    """An outage longer than all of Lambda's retries: the event lands in the on-failure queue and
    the run stays where its last commit left it (status: running, no outcome). Once S3 is back,
    `make resume` continues it from that checkpoint to the exact result."""
    data = sample(20).data
    ref, _ = reference(h, data)

    def down(n: int, req: dict[str, Any]) -> str | None:
        return "drop" if "/checkpoints/000002" in req["url"] else None

    with http_faults(h.s3, "PutObject", down):
        chain = Chain(h, retries=2).run(h.put_input(data, "incoming/long outage"))
    assert len(chain.failed) == 1 and len(chain.failed[0].errors) == 3
    run_id = chain.failed[0].event["run_id"]
    status = run_status(h.s3, BUCKET, run_id, h.cfg)
    assert (status["state"], status["hop"]) == ("running", 1)
    assert "error" not in status
    assert keys_under(h, f"{h.cfg.output_prefix}{run_id}/manifest.json") == []
    resumed = Chain(h).run(resume_event(BUCKET, run_id))
    assert not resumed.failed
    same(h.outcome(run_id), ref)
    assert run_status(h.s3, BUCKET, run_id, h.cfg)["state"] == "succeeded"


def keys_under(h: Harness, prefix: str) -> list[str]:
    from .conftest import keys

    return keys(h, prefix)
