"""The ledger of parts: a checkpoint's size does not grow with the hop count, and every part and
quarantine file a chain committed comes back, in order, whatever the hops wrote."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{cookiecutter.__package_name}} import ledger
from {{cookiecutter.__package_name}}.checkpoint import Checkpoint, CheckpointError, CheckpointStore, ObjectRef, Part
from {{cookiecutter.__package_name}}.layout import RunLayout
from {{cookiecutter.__package_name}}.records import MODE

from .harness import BUCKET, Harness, sample_body

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


def commit_hop(store: CheckpointStore, cp: Checkpoint, parts: list[Part], bad: list[Part]) -> Checkpoint:
    """The ledger's part of a hop's commit, checked against what the hop's clock was told it costs."""
    before = store.s3.pages_written
    due = ledger.pages_due(cp)
    nxt = cp.advance(**ledger.carry(store, cp, "att", parts, bad))
    assert store.s3.pages_written - before == due, "pages_due counts the PUTs the commit makes"
    return nxt


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    page_entries=st.integers(2, 5),
    hops=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=120),
)
def test_every_entry_comes_back_in_order_and_the_checkpoint_stays_bounded(
    h: Harness, page_entries: int, hops: list[tuple[int, int]]
) -> None:
    store, cp = new_chain(h)
    want_parts: list[Part] = []
    want_bad: list[Part] = []
    with mock.patch.object(ledger, "PAGE_ENTRIES", page_entries):
        for n_parts, n_bad in hops:
            parts, bad = hop_entries(store, cp.hop, n_parts, n_bad)
            cp = commit_hop(store, cp, parts, bad)
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
    assert max(cp.level for cp in cp.ledger) == 1, "5,000 hops x 2 entries: pages of pages"
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
    with pytest.raises(CheckpointError, match=r"lists \d+ parts, its checkpoint counts another number"):
        ledger.entries(store, replace(cp, ledger=(*cp.ledger[:-1], replace(page, etag=etag))))


def test_a_page_outside_the_chain_s_ledger_is_refused(h: Harness) -> None:
    _, cp = filled(h)
    other, _ = new_chain(h)
    with pytest.raises(CheckpointError, match="is not in this chain's ledger"):
        ledger.entries(other, cp)


def test_a_long_chain_through_the_handler_pages_its_ledger(h: Harness) -> None:
    """The handler's chains cross pages of every level the tests' page size reaches, and their
    manifest lists what a single pass committed (h.outcome: nothing else under the output prefix)."""
    body = sample_body(MODE) * 8
    h.configure(
        read_chunk_bytes=64,
        first_batch_records=2,
        max_batch_records=2,
        bytes_chunk_size=16,
        part_bytes=100,
        max_stalls=50,
    )
    run_id = h.drive(h.put_input(body, "incoming/long"), lambda: 2)
    store = CheckpointStore(h.s3, BUCKET, RunLayout(h.cfg.state_prefix, h.cfg.output_prefix, run_id))
    latest = store.latest()
    assert latest is not None
    last = latest[0]
    assert max(page.level for page in last.ledger) >= 2, f"{last.hop} hops"
    manifest = json.loads(h.s3.get_object(Bucket=BUCKET, Key=store.layout.manifest())["Body"].read())
    parts, bad = ledger.entries(store, last)
    assert [p["key"] for p in manifest["parts"]] == [p.key for p in parts]
    assert [q["key"] for q in manifest["quarantine"]] == [q.key for q in bad]
    assert sum(p["items"] for p in manifest["parts"]) == manifest["output_items"]
    assert sum(q["items"] for q in manifest["quarantine"]) == manifest["bad_records"]
    assert manifest["bad_records"] > 0 or MODE == "bytes", "sample_body has bad records where the mode has them"
    h.outcome(run_id)
