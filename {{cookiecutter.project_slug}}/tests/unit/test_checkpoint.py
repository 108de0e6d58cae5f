"""The checkpoint model: round trip, every way a checkpoint or payload is rejected, conditional commit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from {{ cookiecutter.__package_name }}.checkpoint import (
    PAYLOAD_KIND,
    PAYLOAD_VERSION,
    SCHEMA_VERSION,
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    LedgerPage,
    ObjectRef,
    Part,
    Pointer,
)
from {{ cookiecutter.__package_name }}.layout import RunLayout

from .harness import BUCKET, Harness

RUN = "0123456789abcdef01234567"
SOURCE = ObjectRef(BUCKET, "incoming/a b.csv", '"etag-1"', 1000, None)


def sample(**changes: Any) -> Checkpoint:
    base = Checkpoint(
        run_id=RUN,
        source=SOURCE,
        hop=3,
        offset=500,
        line=42,
        records=40,
        bad_records=1,
        output_items=40,
        bytes_fetched=600,
        invocations=3,
        reader_context={"header": ["a", "b"]},
        state={"n": 40, "nested": {"x": [1, 2.5, None, True, "é"]}},
        parts=(Part("processed/r/parts/000000-a-0000.jsonl", 40, 1234),),
        quarantine=(Part("_state/runs/r/quarantine/000001-a.jsonl", 1, 99),),
        ledger=(LedgerPage("_state/runs/r/ledger/000002-a-0.json", '"e1"', 0, 3, 1),),
        done=False,
        result=None,
        started_at=1700000000.5,
        updated_at=1700000100.25,
        last_stop="time",
        attempt="abc123",
        stalls=0,
    )
    return Checkpoint(**{**base.__dict__, **changes})


def doc_of(cp: Checkpoint) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(cp.to_json())
    return doc


def raw(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def store(h: Harness, run_id: str = RUN) -> CheckpointStore:
    return CheckpointStore(h.s3, BUCKET, RunLayout(h.cfg.state_prefix, h.cfg.output_prefix, run_id))


# --- the model -------------------------------------------------------------------------------


def test_round_trip_is_exact() -> None:
    cp = sample(done=True, result={"rows": 40, "big": 2**70}, source=SOURCE.__class__(**{**SOURCE.__dict__}))
    again = Checkpoint.from_json(cp.to_json(), "here")
    assert again == cp
    assert again.to_json() == cp.to_json()


def test_round_trip_with_version_id() -> None:
    cp = sample(source=ObjectRef(BUCKET, "k", '"e"', 1000, "v1"))
    assert Checkpoint.from_json(cp.to_json(), "here").source.version_id == "v1"


def test_advance_moves_to_the_next_hop() -> None:
    cp = sample()
    nxt = cp.advance(offset=700, stalls=1)
    assert (nxt.hop, nxt.offset, nxt.stalls, nxt.run_id) == (4, 700, 1, RUN)
    assert nxt.updated_at >= cp.updated_at


@pytest.mark.parametrize("version", [0, 3, None, "1", "2", 1.5, True, 2.0])
def test_unknown_schema_version_is_rejected(version: Any) -> None:
    doc = doc_of(sample())
    doc["schema"] = version
    with pytest.raises(CheckpointError, match="schema version"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


def test_missing_schema_is_rejected() -> None:
    doc = doc_of(sample())
    del doc["schema"]
    with pytest.raises(CheckpointError, match="schema version None"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


def test_a_schema_1_checkpoint_is_read_and_continued_as_schema_2() -> None:
    """Schema 1 listed every part in the checkpoint: read as a ledger with no pages, written back
    as 2, which code that reads only 1 refuses rather than dropping the pages (its message says so)."""
    doc = doc_of(sample(ledger=()))
    del doc["ledger"]
    doc["schema"] = 1
    old = Checkpoint.from_json(raw(doc), "s3://b/k")
    assert (old.ledger, old.parts) == ((), sample().parts)
    assert json.loads(old.advance().to_json())["schema"] == SCHEMA_VERSION == 2
    doc["ledger"] = []  # schema 1 had none: not a checkpoint this code or the earlier one wrote
    with pytest.raises(CheckpointError, match="malformed: a schema 1 checkpoint has no 'ledger'"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


# Fields added to schema 1 later, with the value a checkpoint written before them means: unpinned;
# plain; the whole object. (Schema 2's `ledger` is required: a missing one would drop pages' parts.)
ADDED_LATER: dict[str, object] = {"code_version": "", "gzip": None, "range": None}


@pytest.mark.parametrize(
    "name",
    [n for n in doc_of(sample()) if n != "schema" and n not in ADDED_LATER],
)
def test_every_missing_field_is_rejected(name: str) -> None:
    doc = doc_of(sample())
    del doc[name]
    with pytest.raises(CheckpointError, match="malformed"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


@pytest.mark.parametrize("name", ["bucket", "key", "etag", "size"])
def test_missing_source_field_is_rejected(name: str) -> None:
    doc = doc_of(sample())
    del doc["source"][name]
    with pytest.raises(CheckpointError, match="malformed"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


INT_FIELDS = ["hop", "offset", "line", "records", "bad_records", "output_items"]
INT_FIELDS += ["bytes_fetched", "invocations", "stalls"]


@pytest.mark.parametrize("name", INT_FIELDS)
@pytest.mark.parametrize("value", [True, False, "1", 1.0, None, [1]])
def test_int_fields_reject_other_types_including_booleans(name: str, value: Any) -> None:
    doc = doc_of(sample())
    doc[name] = value
    with pytest.raises(CheckpointError, match=name):
        Checkpoint.from_json(raw(doc), "s3://b/k")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("source", "size"), True),
        (("source", "size"), "1000"),
        (("source", "bucket"), 1),
        (("source", "version_id"), 5),
        (("run_id",), None),
        (("done",), 1),
        (("done",), "true"),
        (("state",), []),
        (("reader_context",), None),
        (("result",), [1]),
        (("started_at",), True),
        (("started_at",), "0"),
        (("parts",), {}),
        (("parts",), ["processed/x"]),
        (("ledger",), {}),
        (("ledger",), [{"key": "_state/runs/r/ledger/000002-a-0.json"}]),
        (("ledger", 0, "level"), -1),
        (("ledger", 0, "part_count"), True),
        (("attempt",), 7),
    ],
)
def test_wrong_types_are_rejected(path: tuple[str, ...], value: Any) -> None:
    doc = doc_of(sample())
    target = doc
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    with pytest.raises(CheckpointError, match="malformed"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


@pytest.mark.parametrize(
    ("name", "value"),
    [("items", True), ("bytes", "12"), ("key", None)],
)
def test_part_fields_are_typed(name: str, value: Any) -> None:
    doc = doc_of(sample())
    doc["parts"][0][name] = value
    with pytest.raises(CheckpointError, match=name):
        Checkpoint.from_json(raw(doc), "s3://b/k")


@pytest.mark.parametrize("source", ["x", None, [], 3])
def test_source_must_be_an_object(source: Any) -> None:
    doc = doc_of(sample())
    doc["source"] = source
    with pytest.raises(CheckpointError, match="malformed"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


@pytest.mark.parametrize(("offset", "hop"), [(-1, 3), (1001, 3), (10**12, 3), (0, -1)])
def test_offset_or_hop_out_of_range_is_rejected(offset: int, hop: int) -> None:
    doc = doc_of(sample())
    doc["offset"], doc["hop"] = offset, hop
    with pytest.raises(CheckpointError, match="out of range"):
        Checkpoint.from_json(raw(doc), "s3://b/k")


@pytest.mark.parametrize("offset", [0, 1000])
def test_offsets_at_both_ends_are_accepted(offset: int) -> None:
    doc = doc_of(sample())
    doc["offset"] = offset
    assert Checkpoint.from_json(raw(doc), "s3://b/k").offset == offset


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[1, 2]", b'"text"', b"null"])
def test_not_a_json_object_is_rejected(body: bytes) -> None:
    with pytest.raises(CheckpointError, match="s3://b/k"):
        Checkpoint.from_json(body, "s3://b/k")


# --- the payload -----------------------------------------------------------------------------


def pointer() -> Pointer:
    return Pointer(BUCKET, RUN, 3, f"_state/runs/{RUN}/checkpoints/000003.json", '"abc"')


def test_pointer_round_trip() -> None:
    event = pointer().to_event()
    assert event["kind"] == PAYLOAD_KIND
    assert event["v"] == PAYLOAD_VERSION
    assert Pointer.from_event(json.loads(json.dumps(event))) == pointer()
    assert len(json.dumps(event)) < 1024  # payloads stay small whatever the state weighs


@pytest.mark.parametrize("run_id", ["../../etc", "ABCDEF0123456789abcdef01", "*", "", 7])
def test_payload_run_id_must_be_a_run_id(run_id: Any) -> None:
    event = {"kind": PAYLOAD_KIND, "v": PAYLOAD_VERSION, "bucket": "b", "run_id": run_id, "hop": 1}
    event.update(key="k", etag="e")
    with pytest.raises(CheckpointError, match="malformed"):
        Pointer.from_event(event)


@pytest.mark.parametrize("version", [None, 0, 2, "1", True, 1.0])
def test_payload_version_is_checked(version: Any) -> None:
    event = pointer().to_event()
    event["v"] = version
    with pytest.raises(CheckpointError, match="payload version"):
        Pointer.from_event(event)


@pytest.mark.parametrize(
    ("name", "value"),
    [("hop", True), ("hop", "3"), ("hop", 3.0), ("bucket", None), ("key", 1), ("etag", None), ("run_id", 5)],
)
def test_payload_fields_are_typed(name: str, value: Any) -> None:
    event = pointer().to_event()
    event[name] = value
    with pytest.raises(CheckpointError, match="payload is malformed"):
        Pointer.from_event(event)


@pytest.mark.parametrize("name", ["bucket", "run_id", "hop", "key", "etag"])
def test_payload_fields_are_required(name: str) -> None:
    event = pointer().to_event()
    del event[name]
    with pytest.raises(CheckpointError, match="payload is malformed"):
        Pointer.from_event(event)


# --- the store (moto) ------------------------------------------------------------------------


def test_commit_then_load(h: Harness) -> None:
    st = store(h)
    cp = sample()
    ptr = st.commit(cp)
    assert ptr is not None
    assert ptr.key == f"{h.cfg.state_prefix}runs/{RUN}/checkpoints/000003.json"
    assert (ptr.bucket, ptr.run_id, ptr.hop) == (BUCKET, RUN, 3)
    assert st.load(ptr) == cp
    assert st.load(Pointer.from_event(json.loads(json.dumps(ptr.to_event())))) == cp


def test_second_commit_of_the_same_hop_loses(h: Harness) -> None:
    st = store(h)
    first = st.commit(sample(attempt="first"))
    assert first is not None
    assert st.commit(sample(attempt="second", offset=900)) is None
    found = st.find(3)
    assert found is not None
    assert found[0].attempt == "first"
    assert found[1] == first


def test_find_and_latest(h: Harness) -> None:
    st = store(h)
    assert st.find(0) is None
    assert st.latest() is None
    for hop in (0, 1, 2, 10):
        st.commit(sample(hop=hop, offset=hop * 10))
    latest = st.latest()
    assert latest is not None
    assert latest[0].hop == 10
    assert latest[0].offset == 100


def test_load_refuses_a_replaced_checkpoint(h: Harness) -> None:
    st = store(h)
    ptr = st.commit(sample())
    assert ptr is not None
    h.s3.put_object(Bucket=BUCKET, Key=ptr.key, Body=sample(offset=999).to_json())
    with pytest.raises(CheckpointError, match="was replaced or the payload was altered"):
        st.load(ptr)


def test_load_refuses_a_forged_etag(h: Harness) -> None:
    st = store(h)
    ptr = st.commit(sample())
    assert ptr is not None
    forged = Pointer(ptr.bucket, ptr.run_id, ptr.hop, ptr.key, '"0000000000000000"')
    with pytest.raises(CheckpointError, match=r"ETag \"0000000000000000\""):
        st.load(forged)


def test_load_refuses_a_missing_checkpoint(h: Harness) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        store(h).load(pointer())


@pytest.mark.parametrize(
    "key",
    [
        f"_state/runs/{RUN}/checkpoints/000004.json",  # another hop
        f"_state/runs/{'f' * 24}/checkpoints/000003.json",  # another run
        "incoming/a b.csv",  # the input object
        f"processed/{RUN}/manifest.json",
    ],
)
def test_load_refuses_a_payload_pointing_elsewhere(h: Harness, key: str) -> None:
    ptr = Pointer(BUCKET, RUN, 3, key, '"abc"')
    with pytest.raises(CheckpointError, match="but hop 3 of run"):
        store(h).load(ptr)


def test_load_refuses_a_payload_for_another_bucket(h: Harness) -> None:
    ptr = store(h).commit(sample())
    assert ptr is not None
    other = Pointer("another-bucket", ptr.run_id, ptr.hop, ptr.key, ptr.etag)
    with pytest.raises(CheckpointError, match="another-bucket"):
        store(h).load(other)


def test_load_refuses_a_run_or_hop_mismatch(h: Harness) -> None:
    st = store(h)
    key = st.layout.checkpoint(3)
    # A checkpoint at hop 3's key that says it belongs to another run (written by hand).
    resp = h.s3.put_object(Bucket=BUCKET, Key=key, Body=sample(run_id="f" * 24).to_json())
    with pytest.raises(CheckpointError, match=f"holds run {'f' * 24} hop 3, not run {RUN} hop 3"):
        st.load(Pointer(BUCKET, RUN, 3, key, resp["ETag"]))
    key5 = st.layout.checkpoint(5)
    resp = h.s3.put_object(Bucket=BUCKET, Key=key5, Body=sample(hop=4).to_json())
    with pytest.raises(CheckpointError, match=f"hop 4, not run {RUN} hop 5"):
        st.load(Pointer(BUCKET, RUN, 5, key5, resp["ETag"]))


def test_load_refuses_a_corrupt_body(h: Harness) -> None:
    st = store(h)
    key = st.layout.checkpoint(3)
    doc = doc_of(sample())
    doc["schema"] = 99
    resp = h.s3.put_object(Bucket=BUCKET, Key=key, Body=raw(doc))
    with pytest.raises(CheckpointError, match="schema version 99"):
        st.load(Pointer(BUCKET, RUN, 3, key, resp["ETag"]))


@pytest.mark.parametrize(("name", "meaning"), sorted(ADDED_LATER.items()))
def test_a_checkpoint_from_before_a_field_existed_still_loads(name: str, meaning: object) -> None:
    """A run in flight across the deploy that added the field continues (it is not refused)."""
    doc = doc_of(sample())
    del doc[name]
    assert getattr(Checkpoint.from_json(raw(doc), "s3://b/k"), name) == meaning
    doc[name] = 7
    with pytest.raises(CheckpointError, match="malformed"):
        Checkpoint.from_json(raw(doc), "s3://b/k")
