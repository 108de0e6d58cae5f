"""The ledger of parts: a checkpoint's size does not grow with the hop count, and every part and
quarantine file a chain committed comes back, in order, whatever the hops wrote."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{cookiecutter.__package_name}} import ledger
from {{cookiecutter.__package_name}}.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    ObjectRef,
    Part,
)
from {{cookiecutter.__package_name}}.layout import RunLayout
from {{cookiecutter.__package_name}}.records import MODE

from .harness import BUCKET, Harness, Outcome, sample_body

RUNS = (f"{n:024x}" for n in itertools.count(1))
SOURCE = ObjectRef(BUCKET, "incoming/big.csv", '"e"', 10**12)


class CountingS3:
    """The moto client, counting the ledger pages written through it."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.pages_written = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def put_object(self, **kwargs: object) -> object:
        self.pages_written += "/ledger/" in str(kwargs["Key"])
        return self.real.put_object(**kwargs)  # type: ignore[attr-defined]


def new_chain(h: Harness) -> tuple[CheckpointStore, Checkpoint]:
    run_id = next(RUNS)
    layout = RunLayout(h.cfg.state_prefix, h.cfg.output_prefix, run_id)
    return CheckpointStore(CountingS3(h.s3), BUCKET, layout), Checkpoint(run_id=run_id, source=SOURCE, hop=0)


def hop_entries(store: CheckpointStore, hop: int, parts: int, bad: int) -> tuple[list[Part], list[Part]]:
    """What one hop's sink hands over: `parts` output parts and `bad` quarantine files."""
    lay = store.layout
    return (
        [Part(lay.part(hop, i, ".jsonl"), 10, 100, lay.staged_part(hop, "att", i, ".jsonl")) for i in range(parts)],
        [Part(lay.quarantine(hop, "att", i), 1, 50) for i in range(bad)],
    )


def commit_hop(
    store: CheckpointStore, cp: Checkpoint, parts: list[Part], bad: list[Part], attempt: str = "att"
) -> Checkpoint:
    """The ledger's part of a hop's commit, checked against what the hop's clock was told it costs."""
    before = store.s3.pages_written
    due = ledger.pages_due(cp)
    carried = ledger.carry(store, cp, attempt, parts, bad)
    assert store.s3.pages_written - before == due, "pages_due counts the PUTs the commit makes"
    return cp.advance(ledger=carried.ledger, parts=carried.parts, quarantine=carried.quarantine)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    page_entries=st.integers(2, 5),
    hops=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.booleans()), min_size=1, max_size=120),
)
def test_every_entry_comes_back_in_order_and_the_checkpoint_stays_bounded(
    h: Harness, page_entries: int, hops: list[tuple[int, int, bool]]
) -> None:
    """Any number of parts and quarantine files a hop, at any page size; each hop run by two
    attempts (a duplicate delivery) of which either may win the commit: the loser's pages are
    listed by nothing and change nothing."""
    store, cp = new_chain(h)
    want_parts: list[Part] = []
    want_bad: list[Part] = []
    with mock.patch.object(ledger, "PAGE_ENTRIES", page_entries):
        for n_parts, n_bad, second_wins in hops:
            parts, bad = hop_entries(store, cp.hop, n_parts, n_bad)
            first, second = (commit_hop(store, cp, parts, bad, attempt) for attempt in ("first", "second"))
            cp = second if second_wins else first
            want_parts += parts
            want_bad += bad
            # The hop's own entries stay in the checkpoint, where its committer publishes them from.
            assert list(cp.parts[len(cp.parts) - n_parts :]) == parts
            # Fewer than PAGE_ENTRIES entries of earlier hops, fewer than PAGE_ENTRIES pages a level.
            assert len(cp.parts) + len(cp.quarantine) - n_parts - n_bad < page_entries
            levels = [page.level for page in cp.ledger]
            assert levels == sorted(levels, reverse=True), "older pages first, and they are the higher ones"
            assert all(levels.count(level) < page_entries for level in set(levels))
        assert ledger.entries(store, cp) == (want_parts, want_bad)
        # As a later hop, a status or a merge sees it: read back from the committed JSON.
        again = Checkpoint.from_json(cp.to_json(), "test")
        assert ledger.entries(store, again) == (want_parts, want_bad)


def test_a_checkpoint_stays_small_over_thousands_of_hops(h: Harness) -> None:
    """At the deployed page size: 5,000 hops, each with an output part and a quarantine file (a
    bad line in every hop), as a 100 GB object at 1 s hops makes. Listing every entry in the
    checkpoint made it grow by ~230 bytes a hop; now its size levels off."""
    store, cp = new_chain(h)
    sizes = []
    with mock.patch.object(ledger, "PAGE_ENTRIES", 64):
        for _ in range(5000):
            cp = commit_hop(store, cp, *hop_entries(store, cp.hop, 1, 1))
            sizes.append(len(cp.to_json()))
        parts, bad = ledger.entries(store, cp)
    assert (len(parts), len(bad)) == (5000, 5000)
    assert [p.key for p in parts] == [store.layout.part(hop, 0, ".jsonl") for hop in range(5000)]
    assert max(page.level for page in cp.ledger) == 1, "5,000 hops x 2 entries: pages of pages"
    inline = len(replace(cp, parts=tuple(parts), quarantine=tuple(bad), ledger=()).to_json())
    assert inline > 1_000_000, "what the checkpoint would weigh listing every entry itself"
    assert max(sizes) < 24_000
    assert max(sizes[2500:]) < 1.1 * max(sizes[:2500]), "no growth with the hop count"


def filled(h: Harness) -> tuple[CheckpointStore, Checkpoint]:
    """A chain whose ledger has pages of two levels (at the tests' page size, 3)."""
    store, cp = new_chain(h)
    for _ in range(12):
        cp = commit_hop(store, cp, *hop_entries(store, cp.hop, 1, 1))
    assert {page.level for page in cp.ledger} == {1, 0}
    return store, cp


def test_a_replaced_page_is_refused(h: Harness) -> None:
    store, cp = filled(h)
    page = cp.ledger[-1]
    h.s3.put_object(Bucket=BUCKET, Key=page.key, Body=b'{"parts": [], "quarantine": []}')
    with pytest.raises(CheckpointError, match="is not the one its checkpoint lists"):
        ledger.entries(store, cp)


def test_a_missing_page_is_refused_naming_the_lifecycle_rule(h: Harness) -> None:
    store, cp = filled(h)
    h.s3.delete_object(Bucket=BUCKET, Key=cp.ledger[0].key)
    with pytest.raises(CheckpointError, match="does not exist: was the state prefix expired"):
        ledger.entries(store, cp)


def test_a_page_that_does_not_hold_what_its_checkpoint_counts_is_refused(h: Harness) -> None:
    store, cp = filled(h)
    page = cp.ledger[-1]
    body = json.loads(h.s3.get_object(Bucket=BUCKET, Key=page.key)["Body"].read())
    body["parts"] = body["parts"][1:]
    etag = h.s3.put_object(Bucket=BUCKET, Key=page.key, Body=json.dumps(body).encode())["ETag"]
    with pytest.raises(CheckpointError, match=r"lists \d+ parts, its checkpoint counts \d+"):
        ledger.entries(store, replace(cp, ledger=(*cp.ledger[:-1], replace(page, etag=etag))))


def test_a_page_of_pages_that_does_not_hold_what_its_checkpoint_counts_is_refused(h: Harness) -> None:
    store, cp = filled(h)
    page = next(page for page in cp.ledger if page.level == 1)
    body = json.loads(h.s3.get_object(Bucket=BUCKET, Key=page.key)["Body"].read())
    body["pages"] = body["pages"][1:]
    etag = h.s3.put_object(Bucket=BUCKET, Key=page.key, Body=json.dumps(body).encode())["ETag"]
    tampered = replace(cp, ledger=tuple(replace(p, etag=etag) if p == page else p for p in cp.ledger))
    with pytest.raises(CheckpointError, match="does not hold the pages its checkpoint counts"):
        ledger.entries(store, tampered)


def test_a_page_outside_the_chain_s_ledger_is_refused(h: Harness) -> None:
    _, cp = filled(h)
    other, _ = new_chain(h)
    with pytest.raises(CheckpointError, match="is not in this chain's ledger"):
        ledger.entries(other, cp)


def long_chain(h: Harness, budget: Callable[[], int], copies: int) -> tuple[CheckpointStore, Outcome, Outcome]:
    """A chain of many small hops over `copies` sample inputs, and a single pass over the same."""
    body = sample_body(MODE) * copies
    h.configure(read_chunk_bytes=64, first_batch_records=2, max_batch_records=2, bytes_chunk_size=16,
                part_bytes=100, max_stalls=50)  # fmt: skip
    single = h.outcome(h.drive(h.put_input(body, "incoming/once")))
    run_id = h.drive(h.put_input(body, "incoming/chain"), budget)
    store = CheckpointStore(h.s3, BUCKET, RunLayout(h.cfg.state_prefix, h.cfg.output_prefix, run_id))
    return store, h.outcome(run_id), single  # h.outcome: nothing under the output prefix but the manifest's


def same_commit(chain: Outcome, single: Outcome) -> None:
    """A page read back wrong or dropped would lose output or bad records from the manifest."""
    assert (chain.output, chain.bad, chain.output_items, chain.bad_records, chain.result) == (
        single.output, single.bad, single.output_items, single.bad_records, single.result
    )  # fmt: skip


def test_a_long_chain_through_the_handler_pages_its_ledger(h: Harness) -> None:
    """The handler's chains cross pages of every level the tests' page size reaches, and commit
    what a single pass does."""
    store, chain, single = long_chain(h, lambda: 2, 8)
    latest = store.latest()
    assert latest is not None
    assert max(page.level for page in latest[0].ledger) >= 2, f"{latest[0].hop} hops"
    same_commit(chain, single)


def test_a_run_that_code_without_pages_began_is_finished_with_pages(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run in flight across the deploy that added the ledger: its first hops list every entry in
    the checkpoint (as that code did: no page is ever due); the first hop after the deploy pages
    them all at once, and the manifest lists what a single pass commits."""
    invocations = itertools.count()

    def budget() -> int:  # called before each invocation of the chain: the first 12 run the earlier code's way
        monkeypatch.setattr(ledger, "PAGE_ENTRIES", 10**9 if next(invocations) < 12 else 3)
        return 2

    store, chain, single = long_chain(h, budget, 4)
    before = store.find(12)
    assert before is not None
    assert before[0].ledger == () and len(before[0].parts) + len(before[0].quarantine) > 3, "all inline"
    latest = store.latest()
    assert latest is not None and latest[0].ledger != (), "paged after the deploy"
    same_commit(chain, single)
