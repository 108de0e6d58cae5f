"""The input object replaced or deleted mid-run (ON_OBJECT_CHANGE): `fail` ends the run with an
error naming both ETags and commits no final output; `restart` abandons the run for one on the new
version, whose output holds the new content only. Versions are never mixed."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.run_report import run_status
from devtools.soak import check_output

from {{ cookiecutter.__package_name }}.layout import run_id_for

from .conftest import BUCKET, MODE, Chain, Harness, keys, sample
from .test_hop_faults import reference, same

KEY = "incoming/changing object.data"


def _chain_with_change(h: Harness, at_hop: int, change: str, warm: bool) -> tuple[Chain, str, str | None]:
    """Start a run on version A; just before hop `at_hop` starts, replace (B) or delete the object."""
    if not warm:
        h.configure(cache_memory_bytes=0, cache_disk_bytes=0)
    a, b = sample(30, "A"), sample(30, "B")
    event = h.put_input(a.data, KEY)
    etag_a = '"' + event["Records"][0]["s3"]["object"]["eTag"] + '"'
    new_etag: list[str | None] = []
    chain = Chain(h)
    chain.recycle_on_retry = not warm

    def before(ev: dict[str, Any]) -> None:
        if ev.get("hop") == at_hop and not new_etag:
            if change == "overwrite":
                new_etag.append(h.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b.data)["ETag"])
            else:
                h.s3.delete_object(Bucket=BUCKET, Key=KEY)
                new_etag.append(None)

    chain.before_delivery = before
    chain.run(event)
    assert new_etag, f"the chain must reach hop {at_hop}"
    return chain, run_id_for(BUCKET, KEY, etag_a, None), new_etag[0]


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm-cache"])
@pytest.mark.parametrize("at_hop", [1, 3])
def test_fail_policy_names_both_etags_and_commits_nothing(h: Harness, at_hop: int, warm: bool) -> None:
    chain, run_a, etag_b = _chain_with_change(h, at_hop, "overwrite", warm)
    assert etag_b is not None
    assert len(chain.failed) == 1, "one event fails (with its retries); nothing is launched after it"
    errors = chain.failed[0].errors
    # The first attempt records the failure; its retries stop at that record (RunEndedError).
    names = [type(e).__name__ for e in errors]
    assert len(names) == 3 and names[0] == "ObjectChangedError"
    assert set(names[1:]) <= {"ObjectChangedError", "RunEndedError"}
    status = run_status(h.s3, BUCKET, run_a, h.cfg)
    assert status["state"] == "failed" and status["error_type"] == "ObjectChangedError"
    assert status["hop"] == at_hop
    etag_a = status["source"]["etag"]
    assert (
        f"changed during the run: the run is pinned to ETag {etag_a} but the object now has ETag {etag_b}"
        in (status["error"])
    )
    assert keys(h, f"{h.cfg.output_prefix}{run_a}/manifest.json") == []
    assert run_status(h.s3, BUCKET, run_id_for(BUCKET, KEY, etag_b, None), h.cfg)["state"] == "unknown"


def test_deleted_mid_run_fails_even_under_the_restart_policy(h: Harness) -> None:
    h.configure(on_object_change="restart")
    chain, run_a, _ = _chain_with_change(h, 2, "delete", warm=False)
    status = run_status(h.s3, BUCKET, run_a, h.cfg)
    assert status["state"] == "failed"
    assert "but the object was deleted; versions are never mixed" in status["error"]
    assert keys(h, f"{h.cfg.output_prefix}{run_a}/manifest.json") == []
    assert len(chain.failed) == 1


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm-cache"])
def test_restart_policy_abandons_and_reruns_on_the_new_version_only(h: Harness, warm: bool) -> None:
    ref, _ = reference(h, sample(30, "B").data, "incoming/reference B")
    h.configure(on_object_change="restart")
    chain, run_a, etag_b = _chain_with_change(h, 2, "overwrite", warm)
    assert etag_b is not None and not chain.failed
    run_b = run_id_for(BUCKET, KEY, etag_b, None)
    old = run_status(h.s3, BUCKET, run_a, h.cfg)
    assert (old["state"], old["superseded_by"]) == ("abandoned", run_b)
    assert keys(h, f"{h.cfg.output_prefix}{run_a}/manifest.json") == []
    out = h.outcome(run_b)
    same(out, ref)
    # Independently of the handler: every id of version B once, in order, nothing of version A.
    check = check_output(MODE, out.output, sample(30, "B"), "B")
    assert (check.lost, check.duplicated, check.mixed, check.in_order) == (0, 0, 0, True)


def test_restart_with_duplicates_of_the_failing_hop_starts_one_new_run(h: Harness) -> None:
    h.configure(on_object_change="restart")
    a, b = sample(30, "A"), sample(30, "B")
    event = h.put_input(a.data, KEY)
    chain = Chain(h)
    chain.duplicate = lambda n: True
    state: dict[str, Any] = {}

    def before(ev: dict[str, Any]) -> None:
        if ev.get("hop") == 2 and "etag" not in state:
            state["etag"] = h.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b.data)["ETag"]

    chain.before_delivery = before
    chain.run(event)
    assert not chain.failed
    runs = {k.split("/")[2] for k in keys(h, f"{h.cfg.state_prefix}runs/")}
    assert runs == {run_id_for(BUCKET, KEY, '"' + event["Records"][0]["s3"]["object"]["eTag"] + '"', None),
                    run_id_for(BUCKET, KEY, state["etag"], None)}  # fmt: skip
    out = h.outcome(run_id_for(BUCKET, KEY, state["etag"], None))
    check = check_output(MODE, out.output, b, "B")
    assert (check.lost, check.duplicated, check.mixed) == (0, 0, 0)
