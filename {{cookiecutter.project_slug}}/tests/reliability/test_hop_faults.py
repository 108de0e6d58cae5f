"""A hop killed at any step, retried, duplicated (one after the other or interleaved), or landing
on a recycled container: the run's committed output and result equal a clean run's, exactly."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from devtools.soak import gzip_members
from tests.unit.harness import Outcome, as_plain

from {{ cookiecutter.__package_name }}.config import Config

from .conftest import Chain, FaultPlan, Harness, keys, sample


def same(a: Outcome, b: Outcome) -> None:
    """Everything a run commits except how many hops it took."""
    assert a.status == b.status == "succeeded"
    assert a.output == b.output
    assert (a.records, a.bad_records, a.output_items, a.result) == (b.records, b.bad_records, b.output_items, b.result)
    assert a.bad == b.bad


def reference(h: Harness, data: bytes, key: str = "incoming/reference") -> tuple[Outcome, list[str]]:
    chain = Chain(h).run(h.put_input(data, key))
    assert not chain.failed
    return h.outcome(chain.run_id()), list(chain.plan.calls)


def test_kill_before_and_after_every_call_of_a_chain(h: Harness) -> None:
    """Crash the handler before, then after, each S3 and Lambda call a clean chain makes (reads of
    the input and checkpoints, output parts, quarantine, checkpoint commit, self-invoke, launch
    marker, manifest); Lambda retries the event on a fresh container and the run completes."""
    kill_at_every_call(h, sample(14).data, lambda out: out)


def test_kill_before_and_after_every_call_of_a_gzip_chain(h: Harness) -> None:
    """The same for a gzip object in two members, whose hops resume inflating from committed
    access points; the run also equals one over the decompressed bytes."""
    plain = sample(14).data
    ref = kill_at_every_call(h, gzip_members(plain, [len(plain) // 3], [6, 1]), as_plain)
    same(ref, reference(h, plain, "incoming/plain reference")[0])


def kill_at_every_call(h: Harness, data: bytes, view: Callable[[Outcome], Outcome]) -> Outcome:
    """Kill a chain over `data` before and after each of its calls; what a clean chain committed.
    `view` is what of an outcome must not change."""
    clean, sites = reference(h, data)
    assert clean.hops >= 3, "the input must take several hops for this test to mean anything"
    ref = view(clean)
    must = {"get:input", "put:part", "put:checkpoint", "get:checkpoint", "invoke", "put:launched", "put:manifest"}
    must |= {"put:ledger", "get:ledger"}  # a page of earlier hops' parts; reading the pages for the manifest
    assert must <= set(sites), sorted(set(sites))
    # Hops repeat the same steps: every call of the first hops and of the last ones, and the first
    # call of each kind wherever it falls, cover them all.
    steps = sorted({*range(min(24, len(sites))), *range(max(0, len(sites) - 12), len(sites)), *map(sites.index, must)})
    for i in steps:
        site = sites[i]
        for how in ("before", "after"):
            plan = FaultPlan(at=i, how=how)
            chain = Chain(h, plan).run(h.put_input(data, f"incoming/kill {i} {how}"))
            assert plan.fired == [site], f"call {i}: expected a crash at {site}, got {plan.fired}"
            assert not chain.failed, f"{how} {site}: {[d.errors for d in chain.failed]}"
            same(view(h.outcome(chain.run_id())), ref)
    return ref


def test_kill_while_processing_a_batch(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash inside process_batch (the process dies mid-hop): nothing of that attempt counts."""
    process = h.fn.process  # the framework's own process.py, as the harness wires it
    data = sample(30).data
    ref, _ = reference(h, data)
    real = process.process_batch
    calls = {"n": 0}

    def flaky(records: list[Any], state: dict[str, Any]) -> list[Any]:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise MemoryError("killed mid-batch")
        return real(records, state)

    monkeypatch.setattr(process, "process_batch", flaky)
    chain = Chain(h, retries=10).run(h.put_input(data, "incoming/flaky"))
    assert not chain.failed
    assert any(d.errors for d in chain.deliveries), "some attempt must have crashed"
    same(h.outcome(chain.run_id()), ref)


@pytest.mark.parametrize("recycle", [True, False], ids=["recycled", "warm"])
def test_every_event_delivered_twice(h: Harness, recycle: bool) -> None:
    data = sample(30).data
    ref, _ = reference(h, data)
    chain = Chain(h)
    chain.duplicate = lambda n: True
    chain.recycle_on_retry = recycle
    chain.run(h.put_input(data, "incoming/twice"))
    assert not chain.failed
    statuses = [r.get("status") for d in chain.deliveries for r in d.results]
    assert "duplicate" in statuses
    same(h.outcome(chain.run_id()), ref)


@pytest.mark.parametrize("seed", range(8))
def test_random_kills_duplicates_and_recycles(h: Harness, seed: int) -> None:
    """Seeded mixes of every fault, with retries: a small in-process soak."""
    data = sample(40, seed=seed).data
    ref, _ = reference(h, data, f"incoming/ref {seed}")
    rng = random.Random(seed)
    kill_p = rng.choice([0.02, 0.05, 0.08])
    plan = FaultPlan(only=lambda site: rng.random() < kill_p, how=rng.choice(["before", "after"]))
    chain = Chain(h, plan, retries=10)
    chain.duplicate = lambda n: rng.random() < 0.3
    chain.recycle_on_retry = rng.random() < 0.5
    chain.run(h.put_input(data, f"incoming/random {seed}"))
    assert not chain.failed
    same(h.outcome(chain.run_id()), ref)


def _first_hop(h: Harness, data: bytes, key: str) -> tuple[Chain, dict[str, Any]]:
    """Run hop 0 only; return the chain and the continuation event for hop 1."""
    chain = Chain(h)
    before = len(h.lam.payloads)
    chain.deliver(h.put_input(data, key))
    assert len(h.lam.payloads) == before + 1
    return chain, h.lam.payloads[-1]


@pytest.mark.parametrize("pause_at", ["get:input", "put:part", "put:checkpoint", "invoke", "put:launched"])
def test_concurrent_duplicates_interleaved(h: Harness, cfg: Config, pause_at: str) -> None:
    """Two deliveries of the same event run at once: attempt A is paused at a step while its
    duplicate B runs the whole hop, then A goes on. Whoever commits first wins; the loser launches
    nothing; if A committed but had not launched, B relaunches; the output is exact either way."""
    h.configure(cache_memory_bytes=0, cache_disk_bytes=0)  # two attempts at once share no cache
    data = sample(30).data
    ref, _ = reference(h, data)
    chain, event = _first_hop(h, data, f"incoming/race {pause_at}")
    a_paused, b_done = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def hook(site: str, kwargs: dict[str, Any]) -> None:
        if threading.current_thread().name == "attempt-A" and site == pause_at and not a_paused.is_set():
            a_paused.set()
            assert b_done.wait(30), "attempt B never finished"

    chain.plan.hook = hook

    def attempt_a() -> None:
        try:
            results["A"] = chain.invoke_once(event, "req-A")
        except Exception as exc:
            results["A"] = exc

    with chain.wired():  # one wiring for both threads: they share the function, as one container would
        thread = threading.Thread(target=attempt_a, name="attempt-A")
        before = len(h.lam.payloads)
        thread.start()
        assert a_paused.wait(30), "attempt A never reached " + pause_at
        results["B"] = h.invoke(event, chain.budget, "req-B")
        b_done.set()
        thread.join(30)
    assert not thread.is_alive()
    assert not isinstance(results["A"], Exception), results["A"]
    assert results["B"]["status"] in ("continued", "succeeded", "duplicate")
    launched = h.lam.payloads[before:]
    if pause_at in ("get:input", "put:part", "put:checkpoint"):
        assert results["B"]["status"] != "duplicate"
        assert results["A"]["status"] == "duplicate", "the attempt that commits second must lose"
        assert len(launched) == 1, "the loser must not launch a successor"
    else:  # A had committed hop 1 before pausing; B found it and relaunched it (no marker yet)
        assert results["B"]["status"] == "duplicate"
        assert len(launched) == 2 and launched[0] == launched[1]
    # Let the chain finish from every event that was launched (duplicates die within a hop).
    rest = Chain(h)
    for ev in launched:
        rest.run(ev)
    assert not rest.failed
    same(h.outcome(chain.run_id()), ref)


def test_duplicate_of_an_old_hop_after_the_run_finished(h: Harness) -> None:
    """A late duplicate (or retry) of a hop whose successor already committed does nothing harmful."""
    data = sample(30).data
    ref, _ = reference(h, data)
    chain, event = _first_hop(h, data, "incoming/late")
    chain.run(event)
    run_id = chain.run_id()
    before_keys = set(keys(h, f"processed/{run_id}/"))
    late = Chain(h)
    late.deliver(event)
    assert late.deliveries[0].results[0]["status"] == "duplicate"
    assert set(keys(h, f"processed/{run_id}/")) == before_keys, "a late duplicate must not add output"
    same(h.outcome(run_id), ref)
